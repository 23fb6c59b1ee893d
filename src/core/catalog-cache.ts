import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog, Playbook, VendorFacts } from './playbooks.js';

/**
 * The built-in playbooks, validated at build time and stored as JSON in dist/, so the 2am path
 * does not pay for a YAML parser and a schema compiler (~80 ms). The cache records each source
 * file's size and mtime; if any differs (someone edited a playbook), it is not used.
 */
interface CacheFile {
  sources: Record<string, string>;
  playbooks: Playbook[];
  vendors: VendorFacts[];
}

const stamp = (file: string) => {
  const s = statSync(file);
  return `${s.size}:${Math.trunc(s.mtimeMs)}`;
};

export function sourceStamps(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort())
    out[name] = stamp(join(dir, name));
  return out;
}

export function serializeCatalog(catalog: Catalog, dir: string): string {
  const cache: CacheFile = {
    sources: sourceStamps(dir),
    playbooks: [...catalog.playbooks.values()],
    vendors: [...catalog.vendors.values()],
  };
  return JSON.stringify(cache);
}

/** The cached catalog, or undefined when it is missing or stale. */
export function readCachedCatalog(cacheFile: string, dir: string): Catalog | undefined {
  let cache: CacheFile;
  try {
    cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as CacheFile;
  } catch {
    return undefined;
  }
  const now = sourceStamps(dir);
  const keys = Object.keys(now);
  if (keys.length !== Object.keys(cache.sources).length || keys.some((k) => cache.sources[k] !== now[k]))
    return undefined;
  return {
    playbooks: new Map(cache.playbooks.map((pb) => [pb.id, pb])),
    vendors: new Map(cache.vendors.map((v) => [v.id, v])),
  };
}
