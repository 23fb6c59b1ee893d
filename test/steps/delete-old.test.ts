import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../src/core/journal.js';
import { callRecorder, createStepEnv } from '../../src/core/steps/env.js';
import { deleteOldStep } from '../../src/core/actions/vendor-steps.js';
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
