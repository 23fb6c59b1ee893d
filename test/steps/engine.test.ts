import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { isolatedEnv } from '../helpers/cli.js';
import type { Io } from '../../src/cli/io.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonText } from '../../src/core/json.js';
import { Journal } from '../../src/core/journal.js';
import { dryRun, runSteps } from '../../src/core/steps/engine.js';
import { callRecorder, createStepEnv } from '../../src/core/steps/env.js';
import { stateFromJournal } from '../../src/core/steps/resume.js';
import { manualStep } from '../../src/core/steps/manual.js';
import type { Step, StepEnv } from '../../src/core/steps/types.js';

const stateDir = () => mkdtempSync(join(tmpdir(), 'tq-steps-'));

const envOptions = () => ({
  recorder: callRecorder(),
  dryRun: false,
  signal: new AbortController().signal,
  log: () => {},
  confirm: async () => {},
});

function envFor(journal?: Journal, state?: Record<string, unknown>): StepEnv {
  return createStepEnv({ ...envOptions(), journal, state });
}

/** A step that counts its runs, verifications and rollbacks. */
function counted(
  key: string,
  o: {
    fail?: boolean;
    verifyOk?: boolean;
    rollback?: boolean;
    irreversible?: boolean;
    enabled?: true | string;
    security?: boolean;
  } = {},
) {
  const n = { run: 0, verify: 0, rollback: 0 };
  const step: Step = {
    key,
    title: `step ${key}`,
    kind: 'test',
    enabled: o.enabled === undefined ? undefined : () => o.enabled!,
    calls: () => [`CALL ${key}`],
    async run(env) {
      n.run++;
      env.calls.push(`CALL ${key}`);
      if (o.fail) throw new Error(`${key} broke`);
      return { status: 'done', detail: `${key} ran`, outputs: { [`${key}.out`]: n.run } };
    },
    verify:
      o.verifyOk === undefined
        ? undefined
        : async () => (n.verify++, { ok: o.verifyOk!, detail: o.verifyOk ? 'fine' : 'still works' }),
    rollback: o.rollback ? async () => (n.rollback++, `undid ${key}`) : undefined,
    irreversible: o.irreversible,
    verificationIsSecurity: o.security,
  };
  return { step, n };
}

describe('the step engine', () => {
  it('runs, verifies and journals each step (flushed, with calls and offsets), in order', async () => {
    const j = Journal.create(stateDir());
    const a = counted('a');
    const b = counted('b', { verifyOk: true });
    const r = await runSteps({ steps: [a.step, b.step], env: envFor(j), journal: j });
    expect(r.status).toBe('done');
    expect(r.steps.map((s) => s.state)).toEqual(['done', 'done']);
    expect(r.state).toMatchObject({ 'a.out': 1, 'b.out': 1 });
    const e = j.entries();
    expect(e.map((x) => `${x.type}:${jsonText(x.step)}:${jsonText(x.phase ?? x.ok)}`)).toEqual([
      'step:a:started',
      'step:a:finished',
      'step:b:started',
      'step:b:finished',
      'verified:b:true',
    ]);
    expect(e[1]).toMatchObject({ calls: ['CALL a'], outcome: 'done' });
    expect(e.every((x) => typeof x.offset_ms === 'number')).toBe(true);
  });

  it('a disabled step is skipped with its reason', async () => {
    const j = Journal.create(stateDir());
    const s = counted('s', { enabled: 'nothing to do' });
    const r = await runSteps({ steps: [s.step], env: envFor(j), journal: j });
    expect(r.steps[0]).toMatchObject({ state: 'skipped', detail: 'nothing to do' });
    expect(s.n.run).toBe(0);
  });

  it('a failed step stops the plan; later steps are pending', async () => {
    const j = Journal.create(stateDir());
    const a = counted('a');
    const b = counted('b', { fail: true });
    const c = counted('c');
    const r = await runSteps({ steps: [a.step, b.step, c.step], env: envFor(j), journal: j });
    expect(r.status).toBe('failed');
    expect(r.steps.map((s) => s.state)).toEqual(['done', 'failed', 'pending']);
    expect(r.error?.message).toContain('b broke');
    expect(c.n.run).toBe(0);
  });

  it('a failed security verification is "unverified" (exit 5 upstream)', async () => {
    const j = Journal.create(stateDir());
    const v = counted('v', { verifyOk: false, security: true });
    const r = await runSteps({ steps: [v.step], env: envFor(j), journal: j });
    expect(r.status).toBe('unverified');
    expect(r.error?.kind).toBe('verification');
  });

  it('rolls back completed steps once, in reverse, stopping at an irreversible step', async () => {
    const j = Journal.create(stateDir());
    const a = counted('a', { rollback: true });
    const b = counted('b', { irreversible: true });
    const c = counted('c', { rollback: true });
    const d = counted('d', { rollback: true, verifyOk: false });
    const r = await runSteps({
      steps: [a.step, b.step, c.step, d.step],
      env: envFor(j),
      journal: j,
      rollbackOnFailure: true,
    });
    expect(r.status).toBe('rolled-back');
    expect([a.n.rollback, c.n.rollback, d.n.rollback]).toEqual([0, 1, 1]);
    expect(
      j
        .entries()
        .filter((e) => e.phase === 'rolled-back')
        .map((e) => e.step),
    ).toEqual(['d', 'c']);
  });

  it('resume: finished and verified steps are not run again; their outputs come back', async () => {
    const dir = stateDir();
    const j = Journal.create(dir);
    const a = counted('a', { verifyOk: true });
    const b = counted('b', { fail: true });
    await runSteps({ steps: [a.step, b.step], env: envFor(j), journal: j });
    // When resumed (a new process: fresh steps, journal reopened)
    const j2 = Journal.open(dir, j.id);
    const a2 = counted('a', { verifyOk: true });
    const b2 = counted('b');
    const r = await runSteps({
      steps: [a2.step, b2.step],
      env: envFor(j2, stateFromJournal(j2.entries())),
      journal: j2,
    });
    expect(r.status).toBe('done');
    expect(r.resumed).toBe(1);
    expect([a2.n.run, a2.n.verify, b2.n.run]).toEqual([0, 0, 1]);
    expect(r.state['a.out']).toBe(1);
  });

  it('resume: a step killed after it finished but before its verification is verified, not re-run', async () => {
    const dir = stateDir();
    const j = Journal.create(dir);
    j.append('step', { step: 'a', phase: 'started' });
    j.append('step', { step: 'a', phase: 'finished', outcome: 'done', detail: 'ran', outputs: { 'a.out': 7 } });
    const a = counted('a', { verifyOk: true });
    const r = await runSteps({ steps: [a.step], env: envFor(j), journal: j });
    expect([a.n.run, a.n.verify]).toEqual([0, 1]);
    expect(r.state['a.out']).toBe(7);
  });

  it('resume: a step killed mid-run (started, never finished) runs again', async () => {
    const dir = stateDir();
    const j = Journal.create(dir);
    j.append('step', { step: 'a', phase: 'started' });
    const a = counted('a');
    await runSteps({ steps: [a.step], env: envFor(j), journal: j });
    expect(a.n.run).toBe(1);
  });

  it('resume: a manual step an unattended run left undone is asked again, and done once a person confirms', async () => {
    const dir = stateDir();
    const j = Journal.create(dir);
    const asked: string[] = [];
    const manual: Step = {
      key: 'm',
      title: 'delete the old key in the dashboard',
      kind: 'manual',
      target: 'stripe',
      calls: () => ['manual: the vendor dashboard'],
      run: (env) => manualStep(env, 'delete the old key', 'Has the old key been deleted?', 'confirmed', 'm_pending'),
    };
    const unattended = createStepEnv({ ...envOptions(), journal: j, unattended: true });
    const first = await runSteps({ steps: [manual], env: unattended, journal: j });
    expect(first.steps.map((s) => s.state)).toEqual(['manual-pending']);
    // Resumed at a terminal: the question is asked (not the first run's "not done" replayed).
    const j2 = Journal.open(dir, j.id);
    const attended = createStepEnv({
      ...envOptions(),
      journal: j2,
      state: stateFromJournal(j2.entries()),
      confirm: async (q) => void asked.push(q),
    });
    const r = await runSteps({ steps: [manual], env: attended, journal: j2 });
    expect(asked).toEqual(['Has the old key been deleted?']);
    expect(r.steps.map((s) => s.state)).toEqual(['manual-done']);
    expect(r.state.m_pending).toBe(false);
  });

  it('resume: a step skipped then is asked `enabled` again, and run once it is enabled (never replayed as done)', async () => {
    // Given a run where the watch was skipped because the manual delete was left undone
    const dir = stateDir();
    const j = Journal.create(dir);
    const manual: Step = {
      key: 'm',
      title: 'delete the old key in the dashboard',
      kind: 'manual',
      calls: () => [],
      run: (env) => manualStep(env, 'delete the old key', 'Has the old key been deleted?', 'confirmed', 'm_pending'),
    };
    const watch = (n: { run: number }): Step => ({
      key: 'w',
      title: 'watch the vendor refuse the old key',
      kind: 'watch-tail',
      enabled: (env) => (env.state.m_pending === true ? 'the old key was not deleted' : true),
      calls: () => [],
      run: async () => (n.run++, { status: 'done', detail: 'still accepted', outputs: { refused: false } }),
      verify: (env) => ({ ok: env.state.refused === true, detail: 'the vendor still accepts the old key' }),
      verificationIsSecurity: true,
    });
    const first = { run: 0 };
    const unattended = createStepEnv({ ...envOptions(), journal: j, unattended: true });
    const r1 = await runSteps({ steps: [manual, watch(first)], env: unattended, journal: j });
    expect(r1.steps.map((s) => s.state)).toEqual(['manual-pending', 'skipped']);
    // When resumed at a terminal and the person confirms the delete
    const j2 = Journal.open(dir, j.id);
    const again = { run: 0 };
    const attended = createStepEnv({ ...envOptions(), journal: j2, state: stateFromJournal(j2.entries()) });
    const r2 = await runSteps({ steps: [manual, watch(again)], env: attended, journal: j2 });
    // Then the watch runs, and its failed proof is the answer (not "resumed-done")
    expect(again.run).toBe(1);
    expect(r2.status).toBe('unverified');
    expect(r2.steps.map((s) => s.state)).toEqual(['manual-done', 'unverified']);
  });

  it('resume: a step skipped then and still not enabled stays finished, not run', async () => {
    const dir = stateDir();
    const j = Journal.create(dir);
    await runSteps({ steps: [counted('s', { enabled: 'no old key' }).step], env: envFor(j), journal: j });
    const j2 = Journal.open(dir, j.id);
    const s2 = counted('s', { enabled: 'no old key' });
    const r = await runSteps({ steps: [s2.step], env: envFor(j2), journal: j2 });
    expect(s2.n.run).toBe(0);
    expect(r.steps.map((s) => s.state)).toEqual(['resumed-done']);
  });

  it('--dry-run lists every call and runs nothing', () => {
    const a = counted('a');
    const b = counted('b', { enabled: 'no key' });
    const plan = dryRun([a.step, b.step], envFor());
    expect(plan.steps).toEqual([
      expect.objectContaining({ key: 'a', enabled: true, calls: ['CALL a'] }),
      expect.objectContaining({ key: 'b', enabled: 'no key', calls: ['CALL b'] }),
    ]);
    expect(a.n.run).toBe(0);
  });

  it("secrets never reach the journal: the session's own registry scrubs every line it writes", async () => {
    // The journal as a command opens it: context → session input → session → incident.
    const { createContext } = await import('../../src/cli/context.js');
    const { sessionInput } = await import('../../src/render/steps-output.js');
    const { openSession, startIncident, stepEnv } = await import('../../src/core/actions/session.js');
    const io = {
      stdout: { write: () => true },
      stderr: { write: () => true },
      stdin: Readable.from([]),
      env: isolatedEnv(),
      cwd: process.cwd(),
    } as unknown as Io;
    const ctx = createContext(io, {});
    const session = openSession(sessionInput(ctx));
    const journal = startIncident(session, 'test', { reason: 'x' });
    // A secret the run learns after the journal is open (a token read, a key created), not shaped like a key.
    const secret = 'admin-token-not-key-shaped-0123456789';
    ctx.secrets.add(secret);
    const leaky: Step = {
      key: 'x',
      title: 't',
      kind: 'k',
      calls: () => [],
      run: async () => ({ status: 'done', detail: `used ${secret}`, outputs: { token: secret } }),
    };
    await runSteps({ steps: [leaky], env: stepEnv(session, journal), journal });
    const text = readFileSync(journal.file, 'utf8');
    expect(text).not.toContain(secret);
    expect(text).toContain('used …6789');
  });
});

describe('compressCalls', () => {
  it('journals a poll once, with a count', async () => {
    const { compressCalls } = await import('../../src/core/steps/engine.js');
    expect(compressCalls(['GET a', 'GET b', 'GET b', 'GET b', 'POST c', 'GET b'])).toEqual([
      'GET a',
      'GET b ×3',
      'POST c',
      'GET b',
    ]);
  });
});

describe('cancel (Ctrl-C)', () => {
  it('a verification cut short by Ctrl-C is a cancel, not a failed verification', async () => {
    const ac = new AbortController();
    const j = Journal.create(stateDir());
    const env = createStepEnv({
      journal: j,
      recorder: callRecorder(),
      dryRun: false,
      signal: ac.signal,
      log: () => {},
      confirm: async () => {},
    });
    const step: Step = {
      key: 'w',
      title: 'wait',
      kind: 'k',
      calls: () => [],
      run: async () => ({ status: 'done', detail: 'ok' }),
      verify: async () => (ac.abort(), { ok: false, detail: 'gave up' }),
      verificationIsSecurity: true,
    };
    const r = await runSteps({ steps: [step], env, journal: j });
    expect(r.status).toBe('cancelled');
  });

  it('no step starts after Ctrl-C', async () => {
    const ac = new AbortController();
    const j = Journal.create(stateDir());
    const env = createStepEnv({
      journal: j,
      recorder: callRecorder(),
      dryRun: false,
      signal: ac.signal,
      log: () => {},
      confirm: async () => {},
    });
    const a: Step = {
      key: 'a',
      title: 'a',
      kind: 'k',
      calls: () => [],
      run: async () => (ac.abort(), { status: 'done', detail: '' }),
    };
    const b = counted('b');
    const r = await runSteps({ steps: [a, b.step], env, journal: j });
    expect(r.status).toBe('cancelled');
    expect(b.n.run).toBe(0);
  });
});
