import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../src/core/journal.js';
import { callRecorder, createStepEnv } from '../../src/core/steps/env.js';
import { deleteOldStep, watchTailStep } from '../../src/core/actions/vendor-steps.js';
import type { RotateDeps } from '../../src/core/actions/rotate.js';
import type { DeleteResult, VendorAdapter } from '../../src/vendors/types.js';

/** A vendor's key-management API as documented: DELETE of a key it does not know answers 404 (not-found). */
function vendorWith(ids: string[]) {
  const live = new Set(ids);
  const vendor = {
    vendor: 'openai',
    displayName: 'OpenAI',
    capabilities: { create: true, delete: true, verify: true },
    deleteKey: async (id: string): Promise<DeleteResult> =>
      live.delete(id) ? { status: 'deleted', id } : { status: 'not-found', id },
  } as unknown as VendorAdapter;
  return { live, deps: { vendor } as unknown as RotateDeps };
}

function stepEnv(journal: Journal, oldId: string) {
  const env = createStepEnv({
    journal,
    recorder: callRecorder(),
    dryRun: false,
    signal: new AbortController().signal,
    log: () => {},
    confirm: async () => {},
  });
  env.state.old_vendor_key_id = oldId;
  return env;
}

const params = { vendor: 'openai', watchOldKey: false, tailTimeoutMs: 0, tailIntervalMs: 0 };

describe('rotate:delete-old: a 404 at the vendor', () => {
  it('is "the thing named does not exist" (exit 4) when this incident never deleted that id', async () => {
    // Given a vendor that has key_real, and an operator who typed key_typo
    const { live, deps } = vendorWith(['key_real']);
    const journal = Journal.create(mkdtempSync(join(tmpdir(), 'tq-delete-old-')));
    // When the step runs, Then it stops with not-found, never "already done"
    const err = await deleteOldStep(params, deps)
      .run(stepEnv(journal, 'key_typo'))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'not-found', exitCode: 4 });
    expect((err as Error).message).toContain('key_typo');
    expect(live.has('key_real')).toBe(true);
  });

  it('is already-done on resume when this incident journaled the delete of that id (killed before "finished")', async () => {
    // Given a first attempt that deleted key_old and was killed before the step finished
    const { live, deps } = vendorWith(['key_old']);
    const journal = Journal.create(mkdtempSync(join(tmpdir(), 'tq-delete-old-')));
    expect(await deleteOldStep(params, deps).run(stepEnv(journal, 'key_old'))).toMatchObject({ status: 'done' });
    expect(live.has('key_old')).toBe(false);
    // When the resumed run deletes it again and the vendor answers 404
    const again = await deleteOldStep(params, deps).run(stepEnv(journal, 'key_old'));
    // Then it is the same incident's delete: done, idempotently
    expect(again).toMatchObject({ status: 'already-done', detail: 'key_old: deleted earlier in this incident' });
  });
});

describe('rotate:delete-old: resumed after a kill', () => {
  it("killed while the DELETE was in flight (sent, no answer journaled): the 404 is this incident's delete", async () => {
    const { deps } = vendorWith([]); // the vendor already deleted it: the DELETE reached it
    const journal = Journal.create(mkdtempSync(join(tmpdir(), 'tq-delete-old-')));
    journal.append('step', { step: 'rotate:delete-old', phase: 'started' });
    journal.append('note', { leftover_of: 'rotate:delete-old', old_vendor_key_delete: 'sent', id: 'key_old' });
    expect(await deleteOldStep(params, deps).run(stepEnv(journal, 'key_old'))).toMatchObject({
      status: 'already-done',
    });
  });

  it('an earlier attempt answered 404 (a wrong id): resuming is not-found again, never already-done', async () => {
    const { deps } = vendorWith(['key_real']);
    const journal = Journal.create(mkdtempSync(join(tmpdir(), 'tq-delete-old-')));
    const first = await deleteOldStep(params, deps)
      .run(stepEnv(journal, 'key_typo'))
      .catch((e: unknown) => e);
    expect(first).toMatchObject({ kind: 'not-found' });
    const again = await deleteOldStep(params, deps)
      .run(stepEnv(journal, 'key_typo'))
      .catch((e: unknown) => e);
    expect(again).toMatchObject({ kind: 'not-found' });
  });
});

describe('rotate:watch-tail on Twilio: the Basic user must be the one the old secret belongs to', () => {
  const twilio = { vendor: { vendor: 'twilio', displayName: 'Twilio' } } as unknown as RotateDeps;
  const watch = { vendor: 'twilio', watchOldKey: true, tailTimeoutMs: 0, tailIntervalMs: 0 };
  const env = (oldId: string | null) => {
    const e = stepEnv(Journal.create(mkdtempSync(join(tmpdir(), 'tq-watch-'))), 'x');
    e.state.old_vendor_key_id = oldId;
    return e;
  };

  it("an old API key whose SID is not known is not watched (its secret as the account's would 401: no proof)", () => {
    expect(watchTailStep(watch, twilio).enabled!(env(null))).toMatch(/SID is not known \(pass --old-key-id\)/);
    expect(watchTailStep(watch, twilio).enabled!(env('SK0123456789abcdef0123456789abcdef'))).toBe(true);
  });

  it('an old auth token is watched as the account, whatever id the proxy label carries', async () => {
    const probes: Array<{ id?: string }> = [];
    const deps = {
      vendor: {
        vendor: 'twilio',
        displayName: 'Twilio',
        probe: async (k: { id?: string }) => (probes.push(k), { accepted: false, status: 401, ms: 1 }),
      },
      readOldKey: async () => 'old_auth_token_0123456789abcdef',
      register: () => {},
    } as unknown as RotateDeps;
    await watchTailStep({ ...watch, authToken: true }, deps).run(env('SK0123456789abcdef0123456789abcdef'));
    expect(probes).toEqual([{ secret: 'old_auth_token_0123456789abcdef', id: undefined }]);
  });
});
