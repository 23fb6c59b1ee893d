import { writeFileSync } from 'node:fs';
import type { ProxyAdapter } from '../../adapters/proxy/types.js';
import { TourniquetError, usageError } from '../errors.js';
import { redactHint } from '../secrets.js';
import type { Step } from '../steps/types.js';
import { rotateDeps, type RotateInput } from './plans.js';
import { deleteOldStep, sweepStep, watchTailStep } from './vendor-steps.js';
import { createRunKey, sweepRunKeys } from './rotate-keys.js';
import type { Session } from './session.js';

/**
 * The slow path, with no proxy in front of the vendor: a new key at the vendor (proven with a
 * harmless call), the old key deleted, and the propagation tail watched. Every consumer still on
 * the old key breaks when it dies; the playbook's next step has the operator deploy the new one.
 */
const noProxy = new Proxy({} as ProxyAdapter, {
  get(_t, prop) {
    if (prop === 'describe') return () => '(no proxy)';
    return () => {
      throw new TourniquetError('step-failed', 'this step needs a proxy, and the plan says there is none');
    };
  },
});

export async function rotateAtVendorSteps(session: Session, p: RotateInput): Promise<Step[]> {
  const d = await rotateDeps(session, p, noProxy);
  const v = d.vendor;
  const create: Step = {
    key: 'vendor:new-key',
    title: `create a new ${v.displayName} key and prove it works`,
    kind: 'rotate-at-vendor',
    target: p.vendor,
    calls: () => [
      ...v.plan('create').map((c) => `${c.method} ${c.url}`),
      ...v.plan('probe').map((c) => `${c.method} ${c.url} (with the new key)`),
    ],
    async run(env) {
      let secret: string;
      let id: string | null = null;
      if (v.capabilities.create) {
        if (!p.newKeyOut)
          throw usageError(
            'the new key has to go somewhere you can deploy it from: pass --new-key-out FILE (written with mode 0600)',
          );
        const k = await createRunKey(env, v, 'vendor:new-key', d.settleMs);
        d.register(k.secret);
        secret = k.secret;
        id = k.id;
        writeFileSync(p.newKeyOut, secret + '\n', { mode: 0o600 });
      } else {
        for (const line of v.guidance()) session.input.log(line);
        secret = await d.readNewKey();
        d.register(secret);
      }
      const probe = await v.probe({ secret, id: p.vendor === 'twilio' ? (id ?? undefined) : undefined });
      if (!probe.accepted)
        throw new TourniquetError('step-failed', `${v.displayName} refused the new key (HTTP ${probe.status})`);
      return {
        status: 'done',
        detail: `new key ${redactHint(secret)} works${p.newKeyOut && id ? `; written to ${p.newKeyOut}` : ''}`,
        outputs: { new_vendor_key_id: id, new_hint: redactHint(secret), old_vendor_key_id: p.oldVendorKeyId ?? null },
      };
    },
    async rollback(env) {
      // Nothing uses the new key yet: every key this incident made at the vendor goes.
      const deleted = await sweepRunKeys(env, v, { step: 'vendor:new-key' });
      return deleted.length
        ? `deleted ${deleted.join(', ')} at ${v.displayName}`
        : 'no key of this incident at the vendor';
    },
  };
  // Deploying the new key to the other consumers is the playbook's next (manual) step.
  return [create, sweepStep(p, d), deleteOldStep(p, d), watchTailStep(p, d)];
}
