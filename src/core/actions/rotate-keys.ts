import type { CreatedKey, DeleteResult, VendorAdapter } from '../../vendors/types.js';
import { HttpError } from '../http.js';
import { TourniquetError } from '../errors.js';
import type { StepEnv } from '../steps/types.js';

/**
 * Keys a rotation makes at the vendor can never be orphaned: each is named after the incident
 * (`tourniquet-<incident id>`), the intent to create it is journaled before the call, and
 * whatever the vendor made under that name is found again by listing and deleted when a create
 * fails, when an interrupted step runs again, on rollback, and at the end of the rotation. Every
 * key found is journaled, so the journal lists every key that existed in the run.
 */
export const runKeyName = (env: StepEnv): string => `tourniquet-${env.incidentId ?? 'dry-run'}`;

/**
 * A production key tourniquet added to the proxy is labelled with its id at the vendor, so the
 * next rotation can delete it there. Any other label is the operator's and is never taken for a
 * vendor id; an auth token (Twilio) has no id at the key API and a label that says so.
 */
export const LABEL_PREFIX = 'tourniquet:';
export const AUTH_TOKEN_LABEL = `${LABEL_PREFIX}auth-token`;
export const vendorKeyIdFromLabel = (label: string | null): string | null =>
  label?.startsWith(LABEL_PREFIX) && label !== AUTH_TOKEN_LABEL ? label.slice(LABEL_PREFIX.length) : null;

export interface SweepOptions {
  /** Keys to leave (the new key the proxy uses). */
  keep?: ReadonlySet<string>;
  /** The step the journal entries belong to. */
  step: string;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Delete every key the run made at the vendor but `keep`; journal each one found and each deletion. */
export async function sweepRunKeys(env: StepEnv, vendor: VendorAdapter, opts: SweepOptions): Promise<string[]> {
  if (!vendor.listKeys) return [];
  const found = await vendor.listKeys(runKeyName(env));
  const deleted: string[] = [];
  for (const k of found) {
    env.record('note', { vendor_key_seen: k.id, name: k.name, vendor: vendor.vendor, step: opts.step });
    if (opts.keep?.has(k.id)) continue;
    const r: DeleteResult = await vendor.deleteKey(k.id);
    env.record('note', { vendor_key_deleted: k.id, status: r.status, vendor: vendor.vendor, step: opts.step });
    env.log(`deleted ${k.id} (${k.name}) at ${vendor.displayName}: made by this incident and not in use`);
    deleted.push(k.id);
  }
  return deleted;
}

/** A create that failed without an answer (timeout, dropped connection, 5xx) may still have made a key. */
const mayHaveActed = (err: unknown) => !(err instanceof HttpError) || err.status === undefined || err.status >= 500;

/**
 * After a create that may have acted, the key can appear at the vendor later than our timeout:
 * look for it for `settleMs` before concluding, then delete what was found.
 */
async function cleanUpFailedCreate(
  env: StepEnv,
  vendor: VendorAdapter,
  step: string,
  settleMs: number,
): Promise<string> {
  const name = runKeyName(env);
  const deadline = Date.now() + settleMs;
  let deleted = await sweepRunKeys(env, vendor, { step });
  while (deleted.length === 0 && Date.now() < deadline && !env.signal.aborted) {
    await wait(Math.min(500, Math.max(0, deadline - Date.now())));
    deleted = await sweepRunKeys(env, vendor, { step });
  }
  if (deleted.length)
    return `; the key it made anyway (${deleted.join(', ')}) was found by its name ${name} and deleted`;
  env.record('note', { vendor_key_unknown: name, vendor: vendor.vendor, step });
  return `; no key named ${name} appeared at ${vendor.displayName} within ${settleMs / 1000} s: if one appears later, \`tourniquet resume\` deletes it`;
}

/**
 * Create the run's key at the vendor: the intent is journaled first (a process killed during
 * the call leaves a journal that says a key of that name may exist), the result right after.
 */
export async function createRunKey(
  env: StepEnv,
  vendor: VendorAdapter,
  step: string,
  settleMs = 10_000,
): Promise<CreatedKey> {
  const name = runKeyName(env);
  env.record('note', { intent: 'create-vendor-key', name, vendor: vendor.vendor, leftover_of: step });
  let key: CreatedKey;
  try {
    key = await vendor.createKey({ name });
  } catch (err) {
    const detail = mayHaveActed(err) && vendor.listKeys ? await cleanUpFailedCreate(env, vendor, step, settleMs) : '';
    if (!detail) throw err;
    const e = err as TourniquetError;
    throw new TourniquetError(e.kind ?? 'step-failed', `${e.message}${detail}`, { hint: e.hint });
  }
  env.record('note', {
    message: `created ${vendor.displayName} key ${key.id} (${key.hint})`,
    vendor_key_id: key.id,
    name,
    vendor: vendor.vendor,
    leftover_of: step,
  });
  return key;
}
