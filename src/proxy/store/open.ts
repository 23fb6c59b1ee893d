import { usageError } from '../../core/errors.js';
import type { ProxyStore } from './types.js';
import { SqliteStore } from './sqlite.js';
import { PostgresStore } from './postgres.js';

/**
 * A store from its `--store` spec: `sqlite:PATH` (or a bare path), `sqlite::memory:`, or
 * `postgres://USER@HOST:PORT/DB` (any number of instances on one database).
 */
export type StoreFactory = (spec: string) => ProxyStore;

/** `sqlite:PATH[?sync=full|normal]` (see SqliteOptions). */
function sqliteFromSpec(spec: string): SqliteStore {
  const rest = spec.replace(/^sqlite:/, '');
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  for (const k of params.keys())
    if (k !== 'sync') throw usageError(`--store: unknown option "${k}"`, 'known: sync=full|normal');
  const sync = params.get('sync') ?? 'full';
  if (sync !== 'full' && sync !== 'normal') throw usageError('--store: sync must be full or normal');
  if (!path) throw usageError('--store sqlite: needs a path, e.g. sqlite:./tourniquet.db');
  return new SqliteStore(path, { sync });
}

const factories = new Map<string, StoreFactory>([
  ['sqlite', sqliteFromSpec],
  ['postgres', (spec) => new PostgresStore(spec)],
]);

/** SQLite and the demo's memory store have one writer, this process: no fleet to keep in step with. */
export const singleInstance = (store: ProxyStore): boolean => store.kind === 'sqlite' || store.kind === 'memory';

/** The embedded store's database file, or null (PostgreSQL, memory, an in-memory SQLite). */
export function embeddedFile(store: ProxyStore): string | null {
  const path = (store as { path?: string }).path;
  return store.kind === 'sqlite' && path && path !== ':memory:' ? path : null;
}

export function registerStoreFactory(scheme: string, factory: StoreFactory): void {
  factories.set(scheme, factory);
}

export function storeScheme(spec: string): string {
  if (/^postgres(ql)?:\/\//.test(spec)) return 'postgres';
  const m = /^([a-z]+):/.exec(spec);
  return m && factories.has(m[1]!) ? m[1]! : 'sqlite';
}

export async function openStore(spec: string): Promise<ProxyStore> {
  const scheme = storeScheme(spec);
  const factory = factories.get(scheme);
  if (!factory) throw usageError(`no store for "${scheme}:"`, 'use --store sqlite:PATH');
  const store = factory(spec);
  await store.init();
  return store;
}
