import type { HttpClient } from '../http.js';
import { TourniquetError, usageError } from '../errors.js';
import { Journal, listIncidents, readJournal } from '../journal.js';
import { execute, startIncident, stepEnv, type Execution, type Session } from '../actions/session.js';
import { rotatePlan, vendorFor, type RotateInput } from '../actions/plans.js';
import { startedEntry, stateFromJournal } from '../steps/resume.js';
import { dueState, policyFor, type DueState, type RotationPolicy } from './policy.js';
import { startRotationProbe, type ProbeStats } from './probe.js';

/**
 * The scheduled (compliance) rotation: a CI job or a timer runs it every night; it acts only on
 * what is due. Before anything else it finishes a scheduled rotation an earlier run left
 * part-way (its journal is in the state directory). Otherwise, when the vendor's active key is
 * younger than its maximum age, it answers "nothing due" without a single vendor call. When it
 * is due, the ordinary rotation runs (rotate.ts: new key verified before the old one goes)
 * with a probe calling through the proxy from start to end: zero failed calls is the proof
 * that no agent saw the rotation.
 */
export interface ScheduleOptions {
  /** --if-older-than; undefined with --if-due (the profile's policy). */
  maxAge?: string;
  probeIntervalMs: number;
  now?: number;
}

export interface ActiveKey {
  id: string;
  vendor: string;
  hint: string;
  created_at: string;
}

export type ScheduledOutcome =
  | { kind: 'nothing-due'; key: ActiveKey; policy: RotationPolicy; due: DueState }
  | {
      kind: 'rotated';
      key: ActiveKey;
      policy: RotationPolicy | null;
      due: DueState | null;
      resumed_from: string | null;
      execution: Execution;
      probe: ProbeStats;
      params: RotateInput;
    };

async function activeKey(admin: HttpClient, vendor: string): Promise<ActiveKey> {
  const keys = (
    (await admin.get('/v1/upstream-keys', { query: { vendor } })).body as { data: Array<ActiveKey & { state: string }> }
  ).data;
  const active = keys
    .filter((k) => k.vendor === vendor && k.state === 'active')
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
  if (!active)
    throw new TourniquetError('not-found', `no active ${vendor} production key at the proxy`, {
      hint: 'list them: tourniquet keys',
    });
  return { id: active.id, vendor: active.vendor, hint: active.hint, created_at: active.created_at };
}

/** A scheduled rotation of this vendor that an earlier run left unfinished (killed, or partly done). */
export function unfinishedScheduledRun(stateDir: string, vendor: string): string | null {
  for (const inc of listIncidents(stateDir)) {
    if (inc.status !== 'partial' && inc.status !== 'unfinished') continue;
    const started = readJournal(stateDir, inc.id).find((e) => e.type === 'started');
    if (
      started?.command === 'rotate' &&
      started.scheduled === true &&
      (started.params as { vendor?: string } | undefined)?.vendor === vendor
    )
      return inc.id;
  }
  return null;
}

type OnStep = Parameters<typeof execute>[0]['onStep'];

async function withProbe(
  session: Session,
  params: RotateInput,
  intervalMs: number,
  onStep: OnStep,
  run: (onStep: OnStep) => Promise<Execution>,
): Promise<{ execution: Execution; probe: ProbeStats }> {
  const proxy = await session.proxy();
  const { probePath } = await vendorFor(session, params.vendor);
  const probe = await startRotationProbe({
    proxy,
    vendor: params.vendor,
    probePath,
    intervalMs,
    register: session.input.register,
    trace: session.recorder.trace,
  });
  try {
    const execution = await run((r) => (probe.callNow(), onStep?.(r)));
    return { execution, probe: await probe.stop() };
  } catch (err) {
    await probe.stop();
    throw err;
  }
}

async function resumeRun(
  session: Session,
  id: string,
  opts: ScheduleOptions,
  key: ActiveKey,
  onStep?: OnStep,
): Promise<ScheduledOutcome> {
  const journal = Journal.open(session.stateDir, id, session.input.scrub);
  const entries = journal.entries();
  const params = startedEntry(entries)!.params as unknown as RotateInput;
  journal.append('note', { message: 'resumed by a scheduled run' });
  session.input.log(`resuming the scheduled rotation ${id}, which an earlier run left unfinished`);
  const steps = await rotatePlan(session, params);
  const env = stepEnv(session, journal, stateFromJournal(entries));
  const r = await withProbe(session, params, opts.probeIntervalMs, onStep, (each) =>
    execute({ session, journal, steps, env, rollbackOnFailure: true, onStep: each }),
  );
  return { kind: 'rotated', key, policy: null, due: null, resumed_from: id, params, ...r };
}

export async function scheduledRotation(
  session: Session,
  admin: HttpClient,
  params: RotateInput,
  opts: ScheduleOptions,
  hooks: { confirm: () => Promise<void>; onStep?: OnStep },
): Promise<ScheduledOutcome> {
  const key = await activeKey(admin, params.vendor);
  const left = unfinishedScheduledRun(session.stateDir, params.vendor);
  if (left) return resumeRun(session, left, opts, key, hooks.onStep);
  const policy = policyFor(session.settings, key, opts.maxAge);
  if (policy.max_age_ms === null)
    throw usageError(
      `no maximum key age for ${params.vendor} in the profile`,
      `pass --if-older-than 90d, or: tourniquet config set rotation.max_age.${params.vendor} 90d`,
    );
  const due = dueState(key.created_at, policy, opts.now ?? Date.now());
  if (!due.overdue) return { kind: 'nothing-due', key, policy, due };
  await hooks.confirm();
  const reason = `scheduled: ${key.id} is ${Math.floor(due.age_ms / 86_400_000)} days old, over its maximum of ${policy.max_age}`;
  const journal = startIncident(
    session,
    'rotate',
    { ...params },
    {
      scenario: 'compliance-rotation',
      reason,
      scheduled: true,
      policy: { max_age: policy.max_age, source: policy.source },
      due_at: due.due_at,
      old_key_created_at: key.created_at,
    },
  );
  const steps = await rotatePlan(session, params);
  const r = await withProbe(session, params, opts.probeIntervalMs, hooks.onStep, (each) =>
    execute({ session, journal, steps, env: stepEnv(session, journal), rollbackOnFailure: true, onStep: each }),
  );
  return { kind: 'rotated', key, policy, due, resumed_from: null, params, ...r };
}
