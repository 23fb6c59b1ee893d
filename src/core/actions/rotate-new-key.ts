import { TourniquetError } from '../errors.js';
import { redactHint } from '../secrets.js';
import type { Step, StepEnv } from '../steps/types.js';
import type { RotateDeps, RotateParams } from './rotate.js';
import { AUTH_TOKEN_LABEL, createRunKey, LABEL_PREFIX, sweepRunKeys } from './rotate-keys.js';

const STEP = 'rotate:new-key';

interface NewKey {
  secret: string;
  /** The key's id at the vendor, for deleting it there later (null: guided, or an auth token). */
  vendorKeyId: string | null;
  /** Twilio: the Basic-auth user in front of the secret. */
  sid?: string;
  label?: string;
}

/** The new production key: the vendor's create API (named after the incident), Twilio's secondary auth token, or guided (Stripe). */
async function obtainNewKey(p: RotateParams, d: RotateDeps, env: StepEnv): Promise<NewKey> {
  if (p.authToken) {
    if (!d.vendor.authToken)
      throw new TourniquetError(
        'usage',
        `${d.vendor.displayName} has no auth token to rotate; --auth-token is for Twilio`,
      );
    env.record('note', {
      intent: 'create-secondary-auth-token',
      vendor: p.vendor,
      leftover_of: STEP,
      auth_token_secondary: true,
    });
    const created = await d.vendor.authToken.createSecondary();
    d.register(created.secret);
    env.record('note', {
      message: `created a secondary ${d.vendor.displayName} auth token (${created.hint})`,
      leftover_of: STEP,
      auth_token_secondary: true,
    });
    // An auth token has no id at the Keys API: its label says what it is, never a key id.
    return {
      secret: created.secret,
      vendorKeyId: null,
      sid: created.meta?.account_sid || undefined,
      label: AUTH_TOKEN_LABEL,
    };
  }
  if (d.vendor.capabilities.create) {
    const created = await createRunKey(env, d.vendor, STEP, d.settleMs);
    d.register(created.secret);
    return {
      secret: created.secret,
      vendorKeyId: created.id,
      sid: p.vendor === 'twilio' ? created.id : undefined,
      label: `${LABEL_PREFIX}${created.id}`,
    };
  }
  for (const line of d.vendor.guidance()) env.log(line);
  const secret = await d.readNewKey();
  d.register(secret);
  return { secret, vendorKeyId: null };
}

/**
 * Before (again) making a key: whatever an earlier, interrupted attempt of this incident made
 * is deleted at the vendor (found by name, or journaled) and retired at the proxy, so a resumed
 * rotation leaves no live key that nobody holds.
 */
async function cleanUpEarlierAttempts(env: StepEnv, d: RotateDeps): Promise<void> {
  const swept = new Set(await sweepRunKeys(env, d.vendor, { step: STEP }));
  for (const note of env.leftovers(STEP)) {
    const id = note.vendor_key_id as string | undefined;
    if (id && !swept.has(id) && d.vendor.capabilities.delete) {
      const r = await d.vendor.deleteKey(id);
      env.record('note', { vendor_key_deleted: id, status: r.status, vendor: d.vendor.vendor, step: STEP });
      env.log(`deleted ${id} at ${d.vendor.displayName}, left by the interrupted attempt (${r.status})`);
    }
    if (note.auth_token_secondary && d.vendor.authToken) await d.vendor.authToken.deleteSecondary();
    const up = note.upstream_key_id as string | undefined;
    if (up) await d.proxy.retireUpstreamKey(up);
  }
}

async function rollbackNewKey(p: RotateParams, d: RotateDeps, env: StepEnv): Promise<string> {
  const done: string[] = [];
  const up = env.state.new_upstream_key_id as string | undefined;
  if (up) {
    await d.proxy.retireUpstreamKey(up);
    done.push(`retired ${up} at the proxy`);
  }
  // The step may have failed after the vendor made a key: sweep by name, and the journaled ones.
  await cleanUpEarlierAttempts(env, d);
  const deleted = await sweepRunKeys(env, d.vendor, { step: STEP });
  const vid = env.state.new_vendor_key_id as string | null | undefined;
  if (vid && !deleted.includes(vid) && d.vendor.capabilities.delete) {
    await d.vendor.deleteKey(vid);
    deleted.push(vid);
  }
  if (deleted.length) done.push(`deleted ${deleted.join(', ')} at ${d.vendor.displayName}`);
  if (p.authToken && d.vendor.authToken) {
    await d.vendor.authToken.deleteSecondary();
    done.push('deleted the secondary auth token');
  }
  return done.length ? done.join('; ') : 'nothing had been made yet';
}

export function newKeyStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: STEP,
    title: `obtain a new ${d.vendor.displayName} ${p.authToken ? 'auth token (secondary)' : 'key'}, prove it at the vendor, add it to the proxy as standby`,
    kind: 'rotate-via-proxy',
    target: p.vendor,
    calls: () => [
      ...d.vendor.plan('create').map((c) => `${c.method} ${c.url}`),
      ...d.vendor.plan('probe').map((c) => `${c.method} ${c.url} (with the new key)`),
      d.proxy.describe('add-upstream', { vendor: p.vendor }),
    ],
    async run(env) {
      await cleanUpEarlierAttempts(env, d);
      const k = await obtainNewKey(p, d, env);
      const probe = await d.vendor.probe({ secret: k.secret, id: k.sid });
      if (!probe.accepted)
        throw new TourniquetError(
          'step-failed',
          `${d.vendor.displayName} refused the new key (HTTP ${probe.status}); nothing was changed at the proxy`,
          { hint: 'check you copied the whole key, from the right account and mode' },
        );
      const added = await d.proxy.addUpstreamKey({
        vendor: p.vendor,
        secret: k.secret,
        label: k.label,
        account_sid: k.sid,
      });
      env.record('note', {
        message: `added ${added.id} to the proxy as standby`,
        leftover_of: STEP,
        upstream_key_id: added.id,
      });
      env.secrets.set('new_key', k.secret);
      return {
        status: 'done',
        detail: `standby ${added.id} (${redactHint(k.secret)}), accepted by ${d.vendor.displayName} in ${probe.ms} ms`,
        outputs: { new_upstream_key_id: added.id, new_vendor_key_id: k.vendorKeyId, new_hint: redactHint(k.secret) },
      };
    },
    rollback: (env) => rollbackNewKey(p, d, env),
  };
}
