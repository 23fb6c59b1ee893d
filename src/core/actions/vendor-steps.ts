import { TourniquetError } from '../errors.js';
import { manualStep } from '../steps/manual.js';
import type { Step, StepEnv, StepRun } from '../steps/types.js';
import type { RotateDeps, RotateParams } from './rotate.js';
import { runKeyName, sweepRunKeys } from './rotate-keys.js';
import { jsonText } from '../json.js';

/**
 * The vendor end of a rotation, shared by the proxy path (rotate) and the no-proxy path
 * (rotate-at-vendor): delete the old key there (or guide the operator where there is no API),
 * then watch the vendor refuse it and report how long its propagation tail was.
 */
const DELETE_OLD = 'rotate:delete-old';

/**
 * Did an earlier attempt of this incident delete `id`? Its last journaled DELETE of that id was
 * answered "deleted", or was still in flight when the process died (no answer journaled).
 */
function deletedEarlier(env: StepEnv, id: string): boolean {
  const answers = env.leftovers(DELETE_OLD).filter((n) => n.id === id && typeof n.old_vendor_key_delete === 'string');
  const last = answers.at(-1)?.old_vendor_key_delete;
  return last === 'deleted' || last === 'sent';
}

/**
 * The vendor answers 404 for the old key's id. Done only when this incident deleted that id
 * (a resumed run); otherwise the id is wrong (a typo, another project) and the old key may
 * still work: "the thing named does not exist" (exit 4), never verified.
 */
function notFoundAtVendor(d: RotateDeps, id: string, ours: boolean): StepRun {
  if (ours) return { status: 'already-done', detail: `${id}: deleted earlier in this incident` };
  throw new TourniquetError(
    'not-found',
    `${d.vendor.displayName} has no key ${id} (HTTP 404): the old key was not deleted, and may still work`,
    { hint: `check --old-key-id (the old key's id at ${d.vendor.displayName}, in the configured project or account)` },
  );
}

export function deleteOldStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: DELETE_OLD,
    title: p.authToken
      ? `promote the new auth token at ${d.vendor.displayName} (the old one stops working)`
      : `delete the old key at ${d.vendor.displayName}`,
    kind: 'delete-at-vendor',
    target: p.vendor,
    irreversible: true,
    calls: (env) =>
      d.vendor.capabilities.delete
        ? d.vendor
            .plan('delete', (env.state.old_vendor_key_id as string) ?? p.oldVendorKeyId ?? '{old vendor key id}')
            .map((c) => `${c.method} ${decodeURIComponent(c.url)}`)
        : ['manual: the vendor dashboard'],
    async run(env) {
      if (p.authToken && d.vendor.authToken) {
        // Promoting the secondary makes it the primary; the old primary stops working.
        const r = await d.vendor.authToken.promote();
        return {
          status: 'done',
          detail: `secondary auth token promoted (${r.hint}); the old primary is no longer valid`,
        };
      }
      const id = env.state.old_vendor_key_id as string | null;
      let manual = [
        `The old key's id at ${d.vendor.displayName} is not known (pass --old-key-id); delete the old key in the dashboard.`,
      ];
      if (id) {
        const ours = deletedEarlier(env, id);
        // Journaled before and after the call: a resumed run that finds this id gone (404) knows
        // whether this incident deleted it (answered, or killed while the DELETE was in flight).
        const note = (answer: string) =>
          env.record('note', { leftover_of: DELETE_OLD, old_vendor_key_delete: answer, id, vendor: p.vendor });
        note('sent');
        const r = await d.vendor.deleteKey(id);
        note(r.status);
        if (r.status === 'deleted') return { status: 'done', detail: `${id}: deleted` };
        if (r.status === 'not-found') return notFoundAtVendor(d, id, ours);
        manual = r.steps;
      }
      for (const l of manual) env.log(l);
      return manualStep(
        env,
        `delete the old ${d.vendor.displayName} key in the dashboard`,
        `Has the old ${d.vendor.displayName} key been deleted (or expired) in the dashboard?`,
        'deleted by hand, confirmed by the operator',
        'old_key_delete_pending',
      );
    },
  };
}

/**
 * The Basic-auth user the old secret belongs to (Twilio): an auth token is the account's (undefined:
 * the adapter uses the account SID); an API key's secret is its own SID's, or null when not known.
 * Any other user makes every probe a 401, which would read as "refused".
 */
function basicUser(p: RotateParams, env: StepEnv): string | undefined | null {
  if (p.vendor !== 'twilio' || p.authToken) return undefined;
  return (env.state.old_vendor_key_id as string | null | undefined) ?? null;
}

export function watchTailStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:watch-tail',
    title: `watch ${d.vendor.displayName} refuse the old key (the propagation tail)`,
    kind: 'watch-tail',
    readOnly: true,
    target: p.vendor,
    enabled: (env) =>
      env.state.old_key_delete_pending === true
        ? 'the old key was not deleted (left to do by hand): it works until then'
        : !p.watchOldKey
          ? 'no old key secret to probe with (pass --old-key-file to watch the tail)'
          : basicUser(p, env) === null
            ? `the old ${d.vendor.displayName} API key's SID is not known (pass --old-key-id): probing its secret as another user proves nothing`
            : true,
    calls: () =>
      d.vendor.plan('probe').map((c) => `${c.method} ${c.url} (with the old key, every ${p.tailIntervalMs} ms)`),
    async run(env) {
      const old = await d.readOldKey?.();
      if (!old)
        throw new TourniquetError('usage', 'the old key is needed to watch the tail', {
          hint: 'pass --old-key-file FILE',
        });
      d.register(old);
      const t0 = Date.now();
      for (;;) {
        const r = await d.vendor.probe({ secret: old, id: basicUser(p, env) ?? undefined });
        const waited = Date.now() - t0;
        if (!r.accepted)
          return {
            status: 'done',
            detail: `refused (HTTP ${r.status}) after ${(waited / 1000).toFixed(2)} s`,
            outputs: { tail_seconds: waited / 1000, old_key_refused: true },
          };
        if (env.signal.aborted) throw new TourniquetError('cancelled', 'cancelled while watching the propagation tail');
        if (waited >= p.tailTimeoutMs)
          return {
            status: 'done',
            detail: `still accepted after ${(waited / 1000).toFixed(2)} s`,
            outputs: { tail_seconds: waited / 1000, old_key_refused: false },
          };
        await new Promise((res) => setTimeout(res, p.tailIntervalMs));
        if (env.signal.aborted) throw new TourniquetError('cancelled', 'cancelled while watching the propagation tail');
      }
    },
    verify(env) {
      const ok = env.state.old_key_refused === true;
      const tail = jsonText(env.state.tail_seconds);
      return {
        ok,
        detail: ok
          ? `the vendor refuses the old key (${tail} s after deletion)`
          : `the vendor still accepts the old key after ${tail} s`,
      };
    },
    verificationIsSecurity: true,
  };
}

/**
 * Every key this incident made at the vendor and does not use is deleted (a create the vendor
 * finished after our timeout, a killed attempt's key), and the vendor's list is read again to
 * prove only the new key is left. It runs before the old key is deleted: the old key may be the
 * admin credential the listing needs (Resend, a Twilio auth token).
 */
export function sweepStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:sweep',
    title: `delete every key this incident made at ${d.vendor.displayName} and does not use`,
    kind: 'sweep-vendor-keys',
    target: p.vendor,
    enabled: () =>
      d.vendor.listKeys && !p.authToken ? true : `${d.vendor.displayName} keys are not made by tourniquet here`,
    calls: (env) => [
      ...d.vendor
        .plan('delete', `{keys named ${runKeyName(env)}}`)
        .map((c) => `${c.method} ${decodeURIComponent(c.url)}`),
    ],
    async run(env) {
      const keep = new Set([env.state.new_vendor_key_id].filter((x): x is string => typeof x === 'string'));
      const deleted = await sweepRunKeys(env, d.vendor, { keep, step: 'rotate:sweep' });
      return {
        status: deleted.length ? 'done' : 'already-done',
        detail: deleted.length ? `deleted ${deleted.join(', ')}` : 'no other key of this incident at the vendor',
      };
    },
    async verify(env) {
      const left = (await d.vendor.listKeys!(runKeyName(env)))
        .map((k) => k.id)
        .filter((id) => id !== env.state.new_vendor_key_id);
      return {
        ok: left.length === 0,
        detail: left.length
          ? `still at the vendor: ${left.join(', ')}`
          : `only the new key is named ${runKeyName(env)}`,
      };
    },
  };
}
