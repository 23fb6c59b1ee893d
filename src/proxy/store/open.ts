import { usageError } from '../../core/errors.js';
import type { ProxyStore } from './types.js';
import { SqliteStore } from './sqlite.js';
import { PostgresStore } from './postgres.js';

/**
 * A store from its `--store` spec: `sqlite:PATH` (or a bare path), `sqlite::memory:`, or
 * `postgres://USER@HOST:PORT/DB` (any number of instances on one database).
 */
export type StoreFactory = (spec: string) => ProxyStore;

const factories = new Map<string, StoreFactory>([
  ['sqlite', (spec) => new SqliteStore(spec.replace(/^sqlite:/, ''))],
  ['postgres', (spec) => new PostgresStore(spec)],
]);

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
