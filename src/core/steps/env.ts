import type { Journal } from '../journal.js';
import type { StepEnv } from './types.js';
import { entriesOf } from './resume.js';

/** Collects the calls a step makes from the adapters' HTTP trace lines (`→ METHOD URL (headers)`), already redacted. */
export interface CallRecorder {
  calls: string[];
  trace: (line: string) => void;
}

export function callRecorder(forward: (line: string) => void = () => {}): CallRecorder {
  const calls: string[] = [];
  return {
    calls,
    trace(line) {
      forward(line);
      if (line.startsWith('→ ')) calls.push(line.slice(2).replace(/ \(.*\)$/, ''));
    },
  };
}

export interface StepEnvOptions {
  journal?: Journal;
  recorder: CallRecorder;
  dryRun: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
  confirm: (message: string) => Promise<void>;
  /** --yes: manual steps are recorded as not done (StepEnv.unattended). */
  unattended?: boolean;
  state?: Record<string, unknown>;
}

export function createStepEnv(opts: StepEnvOptions): StepEnv {
  const entries = entriesOf(opts.journal);
  const t0 = entries.length ? Date.parse(entries[0]!.at) : Date.now();
  return {
    incidentId: opts.journal?.id,
    state: opts.state ?? {},
    secrets: new Map(),
    dryRun: opts.dryRun,
    signal: opts.signal,
    log: opts.log,
    confirm: opts.confirm,
    unattended: opts.unattended === true,
    calls: opts.recorder.calls,
    now: () => Date.now() - t0,
    record: (type, fields) => {
      opts.journal?.append(type, fields);
    },
    leftovers: (step) => {
      // Notes with `leftover_of: step` written after that step last finished (or ever, if it never did).
      const all = entriesOf(opts.journal);
      let lastFinished = -1;
      all.forEach((e, i) => {
        if (e.type === 'step' && e.step === step && e.phase === 'finished') lastFinished = i;
      });
      return all.filter((e, i) => i > lastFinished && e.type === 'note' && e.leftover_of === step);
    },
  };
}
