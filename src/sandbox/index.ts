import { closeServer } from './http.js';
import type { KeyringOptions, Tail, TailMode } from './keyring.js';
import { startStripeSandbox, type StripeSandbox } from '../vendors/stripe/sandbox.js';
import { startOpenAISandbox, type OpenAISandbox } from '../vendors/openai/sandbox.js';
import { startTwilioSandbox, type TwilioSandbox } from '../vendors/twilio/sandbox.js';
import { startResendSandbox, type ResendSandbox } from '../vendors/resend/sandbox.js';

export { VENDOR_TAILS, Keyring, type Tail, type TailMode } from './keyring.js';
export { startStripeSandbox, startOpenAISandbox, startTwilioSandbox, startResendSandbox };
export type { StripeSandbox, OpenAISandbox, TwilioSandbox, ResendSandbox };

export interface SandboxOptions {
  /** Multiplies every propagation tail: 1 is seed 002's real-world timing, 0.001 shrinks 45 s to 45 ms. */
  timeScale?: number;
  tailMode?: TailMode;
  /** Added to every vendor answer. */
  latencyMs?: number;
  /** Pause between OpenAI stream chunks. */
  streamDelayMs?: number;
  /** Vendors put the whole key they were given in 401 messages (tests the proxy's scrubbing). */
  echoKeysInErrors?: boolean;
  random?: () => number;
  /** Per-vendor tails instead of seed 002's (before timeScale). */
  tails?: Partial<Record<'stripe' | 'openai' | 'twilio' | 'resend', Tail>>;
}

export interface Sandbox {
  stripe: StripeSandbox;
  openai: OpenAISandbox;
  twilio: TwilioSandbox;
  resend: ResendSandbox;
  /** vendor → base URL, ready for `--upstream` / `startProxy({upstreams})`. */
  urls: Record<'stripe' | 'openai' | 'twilio' | 'resend', string>;
  /** The first production key of each vendor, created at start. */
  keys: {
    stripe: { id: string; secret: string };
    openai: { id: string; secret: string; admin_key: string; project_id: string };
    twilio: { id: string; secret: string; account_sid: string };
    resend: { id: string; secret: string };
  };
  stop(): Promise<void>;
}

/** Four loopback vendors, each with one production key, for tests, `demo` and `tourniquet sandbox`. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const ring: KeyringOptions = { timeScale: opts.timeScale, tailMode: opts.tailMode, random: opts.random };
  const [stripe, openai, twilio, resend] = await Promise.all([
    startStripeSandbox({ ...ring, tail: opts.tails?.stripe, latencyMs: opts.latencyMs, echoKeysInErrors: opts.echoKeysInErrors }),
    startOpenAISandbox({ ...ring, tail: opts.tails?.openai, latencyMs: opts.latencyMs, streamDelayMs: opts.streamDelayMs, echoKeysInErrors: opts.echoKeysInErrors }),
    startTwilioSandbox({ ...ring, tail: opts.tails?.twilio, latencyMs: opts.latencyMs }),
    startResendSandbox({ ...ring, tail: opts.tails?.resend, latencyMs: opts.latencyMs }),
  ]);
  const openaiKey = openai.createKey('default');
  return {
    stripe,
    openai,
    twilio,
    resend,
    urls: { stripe: stripe.url, openai: openai.url, twilio: twilio.url, resend: resend.url },
    keys: {
      stripe: stripe.createKey('default'),
      openai: { ...openaiKey, admin_key: openai.adminKey, project_id: openai.projectId },
      twilio: { id: 'auth_token', secret: twilio.authToken, account_sid: twilio.accountSid },
      resend: resend.createKey('default'),
    },
    stop: async () => {
      await Promise.all([stripe.server, openai.server, twilio.server, resend.server].map(closeServer));
    },
  };
}
