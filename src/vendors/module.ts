import type { IncomingHttpHeaders, Server } from 'node:http';
import type { SandboxFaults } from '../sandbox/http.js';
import type { Keyring, KeyringOptions, Tail } from '../sandbox/keyring.js';
import type { MeterRequest, Metering } from './shared/meter.js';
import type { PriceTable } from './shared/prices.js';
import type { Dialect } from './shared/refusal.js';
import type { Contract } from './shared/contract.js';
import type { AdapterDeps } from './shared/adapter.js';
import type { VendorFacts } from './shared/facts.js';
import type { VendorAdapter } from './types.js';

/**
 * Everything the project knows about one vendor, in one folder (src/vendors/<id>/) and listed
 * once in registry.ts: the proxy's view (where keys go, what a call costs, how to refuse in the
 * vendor's dialect), the key-management adapter (rotate, probe), the sandbox fake, the prices.
 */
export interface VendorModule {
  id: string;
  displayName: string;
  proxy: ProxyFacts;
  prices: PriceTable;
  /** Key management at the vendor (rotate, probe); absent for the generic vendor. */
  keys?: { facts: VendorFacts; adapter: (deps: AdapterDeps) => VendorAdapter };
  /** The loopback fake, loaded only when asked for. */
  sandbox?: (opts: SandboxVendorOptions) => Promise<SandboxVendor>;
  /** Seed 002's propagation tail: how long a deleted key keeps working at the vendor's edge. */
  tail?: Tail;
  /** What our requests and the sandbox's answers are checked against. */
  contract?: Contract;
}

/** Where the production key goes in a forwarded request. */
export type KeyPlacement =
  | { kind: 'bearer' }
  /** Twilio: HTTP Basic with the Account SID (or API key SID) as user and the secret as password. */
  | { kind: 'basic-sid' }
  /** One header, `{key}` replaced by the production key (`X-Api-Key: {key}`, `Authorization: Token {key}`). */
  | { kind: 'header'; header: string; template: string };

/** Where an SDK puts its key, and so where the proxy looks for the vault key. */
export type VaultKeyPlace = 'bearer' | 'basic' | { header: string } | { query: string };

export interface ProxyFacts {
  baseUrl: string;
  key: KeyPlacement;
  vaultKeyIn: readonly VaultKeyPlace[];
  /** Does a request whose vault key is missing or unknown look like this vendor's? (to refuse in its dialect) */
  recognises?: (req: { path: string; headers: IncomingHttpHeaders }) => boolean;
  /** Where the customer id usually sits (request-info.ts's syntax), in order. */
  customerIdPaths: string[];
  /**
   * Does this request move money? Then `per_call_amount_cap` needs its amount: a call whose amount
   * cannot be read (no amount, an unknown currency, a repeated field) is refused, not let through.
   */
  movesMoney?: (method: string, path: string) => boolean;
  /** USD a request asks to move (for `per_call_amount_cap`), or null. */
  requestAmountUsd?: (
    method: string,
    path: string,
    body: Record<string, unknown> | null,
    prices: PriceTable,
  ) => number | null;
  meter: (req: MeterRequest, prices: PriceTable) => Metering;
  refusal: Dialect;
}

export interface SandboxVendorOptions extends KeyringOptions {
  latencyMs?: number;
  /** Pause between streamed chunks, so a test can cut a stream in the middle. */
  streamDelayMs?: number;
  /** Put the whole key in 401 messages (tests the proxy's scrubbing). */
  echoKeysInErrors?: boolean;
}

/** What every vendor fake offers; each adds its own extras (Twilio's account SID, OpenAI's admin key). */
export interface SandboxVendor {
  url: string;
  keys: Keyring;
  server: Server;
  /** The production key made at start, with what the proxy needs beside it. */
  defaultKey: { id: string; secret: string; account_sid?: string };
  createKey(name?: string): { id: string; secret: string };
  deleteKey(idOrSecret: string): ReturnType<Keyring['delete']>;
  /** Faults a test can inject (slow, or failing after acting). */
  faults: SandboxFaults;
  stop(): Promise<void>;
}
