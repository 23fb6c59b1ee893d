import type { Tail, TailMode } from './keyring.js';
import { VENDORS, VENDOR_MODULES, type SandboxedVendorId } from '../vendors/registry.js';
import type { SandboxVendorOptions } from '../vendors/module.js';

export { Keyring, type Tail, type TailMode } from './keyring.js';
export type { StripeSandbox } from '../vendors/stripe/sandbox.js';
export type { OpenAISandbox } from '../vendors/openai/sandbox.js';
export type { TwilioSandbox } from '../vendors/twilio/sandbox.js';
export type { ResendSandbox } from '../vendors/resend/sandbox.js';

/** Seed 002's propagation tails, by vendor (from each vendor's module). */
export const VENDOR_TAILS: Record<string, Tail> = Object.fromEntries(
  VENDOR_MODULES.flatMap((m) => (m.tail ? [[m.id, m.tail]] : [])),
);

export interface SandboxOptions {
  /** Multiplies every propagation tail: 1 is seed 002's real-world timing, 0.001 shrinks 45 s to 45 ms. */
  timeScale?: number;
  tailMode?: TailMode;
  /** Added to every vendor answer. */
  latencyMs?: number;
  /** Pause between streamed chunks. */
  streamDelayMs?: number;
  /** Vendors put the whole key they were given in 401 messages (tests the proxy's scrubbing). */
  echoKeysInErrors?: boolean;
  random?: () => number;
  /** Per-vendor tails instead of seed 002's (before timeScale). */
  tails?: Partial<Record<SandboxedVendorId, Tail>>;
}

type Starter<K extends SandboxedVendorId> = Extract<(typeof VENDORS)[K], { sandbox: unknown }>['sandbox'];
type SandboxOf<K extends SandboxedVendorId> = Awaited<ReturnType<Starter<K>>>;

export type Sandbox = { [K in SandboxedVendorId]: SandboxOf<K> } & {
  /** vendor → base URL, ready for `--upstream` / `startProxy({upstreams})`. */
  urls: Record<SandboxedVendorId, string>;
  /** The first production key of each vendor, created at start. */
  keys: { [K in SandboxedVendorId]: SandboxOf<K>['defaultKey'] };
  stop(): Promise<void>;
};

/** Every vendor with a fake in the registry on loopback, each with one production key, for tests, `demo` and `tourniquet sandbox`. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const started = await Promise.all(
    VENDOR_MODULES.flatMap((m) => {
      if (!m.sandbox) return [];
      const o: SandboxVendorOptions = { ...opts, tail: opts.tails?.[m.id as SandboxedVendorId] };
      return [m.sandbox(o).then((s) => [m.id, s] as const)];
    }),
  );
  const out: Record<string, unknown> = Object.fromEntries(started);
  out.urls = Object.fromEntries(started.map(([id, s]) => [id, s.url]));
  out.keys = Object.fromEntries(started.map(([id, s]) => [id, s.defaultKey]));
  out.stop = async () => {
    await Promise.all(started.map(([, s]) => s.stop()));
  };
  return out as Sandbox;
}
