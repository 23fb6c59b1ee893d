/**
 * Steps as data. A plan is an ordered list of these; the engine runs each one, verifies it,
 * writes it to the incident's journal (flushed before the next step starts), and on resume
 * skips what the journal says is done. A step never keeps a secret in `outputs`: outputs go
 * to the journal and come back on resume; secrets live only in `StepEnv.secrets` (memory).
 */
export interface StepEnv {
  /** The incident this run belongs to (undefined when nothing is journaled, e.g. a dry run). */
  incidentId?: string;
  /** Outputs of earlier steps (ids, times, counts; never secrets), restored from the journal on resume. */
  state: Record<string, unknown>;
  /** Secrets held by this process only; a resumed run does not have them and must ask again. */
  secrets: Map<string, string>;
  dryRun: boolean;
  signal: AbortSignal;
  /** Progress for the person watching (stderr). */
  log: (line: string) => void;
  /** Ask the operator to confirm a manual step (y/n, --yes answers; no terminal: exit 2). */
  confirm: (message: string) => Promise<void>;
  /**
   * --yes: nobody is there to do or confirm a step a person must do (manual.ts): such a step is
   * recorded as not done, and the run ends partly done (exit 6), never "confirmed".
   */
  unattended: boolean;
  /** Calls made by the current step, recorded by the adapters' HTTP trace (already redacted). */
  calls: string[];
  /** Milliseconds since the incident's t=0. */
  now: () => number;
  /** Write a fact to the journal (e.g. `revoked` with vault_key_ids and effective_at). */
  record: (type: 'revoked' | 'note', fields: Record<string, unknown>) => void;
  /** Notes an earlier, interrupted attempt at a step left (e.g. a key it created before it was killed). */
  leftovers: (step: string) => Array<Record<string, unknown>>;
}

/** `manual-pending`: a step a person must do, left undone by an unattended run (manual.ts). */
export type StepRunStatus = 'done' | 'already-done' | 'skipped' | 'manual-done' | 'manual-pending' | 'not-found';

export interface StepRun {
  status: StepRunStatus;
  detail: string;
  /** Facts for later steps and for resume: ids, times. No secrets. */
  outputs?: Record<string, unknown>;
}

export interface Verification {
  ok: boolean;
  detail: string;
  data?: Record<string, unknown>;
}

export interface Step {
  /** Unique within a plan and stable across runs: resume matches journal entries by it. */
  key: string;
  title: string;
  kind: string;
  target?: string;
  /** True to run; a string is the reason it is skipped. */
  enabled?(env: StepEnv): true | string;
  /** The calls it would make, for --dry-run (placeholders like {new_upstream_key_id} are fine). */
  calls(env: StepEnv): string[];
  run(env: StepEnv): Promise<StepRun>;
  /**
   * Proof that the step did what it says; a failed verification stops the plan. Synchronous when
   * it only reads what `run` recorded; a throw or a rejection is a verification that could not run.
   */
  verify?(env: StepEnv, run: StepRun): Verification | Promise<Verification>;
  /** Undo, run at most once, when a later step fails. */
  rollback?(env: StepEnv): Promise<string>;
  /** Once done, nothing before it may be rolled back (e.g. the old key was deleted at the vendor). */
  irreversible?: boolean;
  /** Changes nothing that lasts (a lookup, a check): does not make a failed run "partly done". */
  readOnly?: boolean;
  /** A failed verification of this step means "the credential still works": exit 5. */
  verificationIsSecurity?: boolean;
}

export type StepState =
  | 'done'
  | 'already-done'
  | 'skipped'
  | 'manual-done'
  | 'manual-pending'
  | 'not-found'
  | 'failed'
  | 'unverified'
  | 'pending'
  | 'resumed-done'
  | 'rolled-back';

export interface StepReport {
  key: string;
  title: string;
  kind: string;
  target?: string;
  state: StepState;
  detail: string;
  started_offset_ms?: number;
  ms?: number;
  calls: string[];
  verification?: Verification;
  error?: string;
  read_only?: boolean;
}

export type RunStatus = 'done' | 'failed' | 'unverified' | 'rolled-back' | 'cancelled';

export interface RunReport {
  status: RunStatus;
  steps: StepReport[];
  /** Steps finished before this process started (resume). */
  resumed: number;
  state: Record<string, unknown>;
  error?: { kind: string; message: string; hint?: string };
}

export interface DryRunReport {
  dry_run: true;
  steps: Array<{ key: string; title: string; kind: string; target?: string; enabled: true | string; calls: string[] }>;
}
