import { loadSettings, type Settings } from '../config.js';
import { Journal } from '../journal.js';
import { EXIT_CODES, usageError } from '../errors.js';
import { createProxyAdapter } from '../../adapters/proxy/index.js';
import type { ProxyAdapter } from '../../adapters/proxy/types.js';
import { callRecorder, createStepEnv, type CallRecorder } from '../steps/env.js';
import { runSteps } from '../steps/engine.js';
import type { RunReport, Step, StepEnv, StepReport } from '../steps/types.js';

/**
 * What every acting command shares: settings, the proxy adapter, the incident journal, the
 * step environment; and one mapping from a run's outcome to the incident's final status.
 * No commander and no prompts here: the command passes plain functions in.
 */
export interface SessionInput {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  profile?: string;
  dryRun: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
  confirm: (message: string) => Promise<void>;
  /** --yes: confirmations are answered, but a step a person must do is recorded as not done. */
  unattended?: boolean;
  /** A masked prompt for a secret; with nobody at a terminal it fails naming `flag`. */
  askSecret: (opts: { message: string; flag: string; what: string }) => Promise<string>;
  trace: (line: string) => void;
  register: (secret: string) => void;
  scrub: (text: string) => string;
  /** Setting overrides from flags (e.g. --proxy-url). */
  overrides?: Record<string, string | undefined>;
  /** Where journal entries go, as JSON lines, when the state directory cannot be written. */
  journalFallback?: (line: string) => void;
}

export interface Session {
  input: SessionInput;
  settings: Settings;
  recorder: CallRecorder;
  stateDir: string;
  proxy(): Promise<ProxyAdapter>;
}

/** The profile's settings (the config file is read and checked; see core/config-file.ts). */
export function settingsFor(input: Pick<SessionInput, 'env' | 'profile' | 'overrides'>): Settings {
  return loadSettings(input.env, input.profile, input.overrides ?? {});
}

export function openSession(input: SessionInput): Session {
  const settings = settingsFor(input);
  const stateDir = settings.get('state_dir');
  if (!stateDir) throw usageError('no state directory', 'set TOURNIQUET_STATE_DIR');
  const recorder = callRecorder(input.trace);
  let proxy: Promise<ProxyAdapter> | undefined;
  return {
    input,
    settings,
    recorder,
    stateDir,
    proxy: () =>
      (proxy ??= createProxyAdapter(settings, {
        io: { env: input.env, stdin: input.stdin },
        trace: recorder.trace,
        register: input.register,
        scrub: input.scrub,
      })),
  };
}

export function stepEnv(session: Session, journal?: Journal, state?: Record<string, unknown>): StepEnv {
  const i = session.input;
  return createStepEnv({
    journal,
    recorder: session.recorder,
    dryRun: i.dryRun,
    signal: i.signal,
    log: i.log,
    confirm: i.confirm,
    unattended: i.unattended,
    state,
  });
}

/** A new incident's journal; one that cannot be written falls back to session.input.journalFallback (the action comes first). */
export function startIncident(
  session: Session,
  command: string,
  params: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Journal {
  const journal = Journal.create(session.stateDir, session.input.scrub, undefined, session.input.journalFallback);
  journal.append('started', { command, params, profile: session.settings.profile, ...extra });
  return journal;
}

export type FinalStatus = 'done' | 'unverified' | 'partial' | 'failed' | 'rolled-back' | 'cancelled';

/**
 * done → 0; a credential still works → 5; some lasting change made and not undone, journal
 * saved → partial, 6 (resume), unless a step stopped because the thing named does not exist (4);
 * nothing done, or everything undone → 1.
 */
export function finalStatus(report: RunReport): FinalStatus {
  // A step a person must do, left undone by an unattended run: not done (manual.ts).
  if (report.status === 'done' && report.steps.some((s) => s.state === 'manual-pending')) return 'partial';
  if (report.status === 'done' || report.status === 'unverified') return report.status;
  // A step that did part of its work and said so (a revoke refused but not durable, C1).
  if (report.error?.kind === 'partial') return 'partial';
  const lasting = report.steps.some(
    (s) => !s.read_only && ['done', 'already-done', 'manual-done', 'resumed-done'].includes(s.state),
  );
  if (report.status === 'rolled-back') return lasting ? 'partial' : 'rolled-back';
  if (report.status === 'cancelled') return lasting ? 'partial' : 'cancelled';
  return lasting ? 'partial' : 'failed';
}

export interface Execution {
  incident_id: string;
  report: RunReport;
  status: FinalStatus;
  /** Why the journal could not be written (its entries went to stderr instead); undefined when it was. */
  journal_problem?: string;
}

export async function execute(opts: {
  session: Session;
  journal: Journal;
  steps: Step[];
  env: StepEnv;
  rollbackOnFailure?: boolean;
  onStep?: (r: StepReport) => void;
}): Promise<Execution> {
  const report = await runSteps({
    steps: opts.steps,
    env: opts.env,
    journal: opts.journal,
    rollbackOnFailure: opts.rollbackOnFailure,
    onStep: opts.onStep,
  });
  const status = finalStatus(report);
  opts.journal.append('finished', { status, error: report.error?.message });
  return { incident_id: opts.journal.id, report, status, journal_problem: opts.journal.problem };
}

/**
 * The exit code of a run (README, "Exit codes"), the one place it is decided for acting commands.
 * A run that changed nothing lasting exits with its error's own code (401/403 → 3, a missing
 * thing → 4, bad input → 2); a verification stopped by refused credentials is 3, not 5; a run
 * whose journal could not be written is never 0: it is 6, with the reason.
 */
export function exitCodeOf(ex: Pick<Execution, 'status' | 'report' | 'journal_problem'>): number {
  const kind = ex.report.error?.kind;
  const own = kind === 'auth' || kind === 'usage' || kind === 'not-found' ? EXIT_CODES[kind] : undefined;
  let code: number;
  if (ex.status === 'done') code = EXIT_CODES.ok;
  // Stopped because the thing named does not exist (e.g. the old key's id at the vendor): resume
  // would stop there again, so the code says what is wrong (4), even after lasting changes.
  else if (kind === 'not-found' && ex.status !== 'unverified') code = EXIT_CODES['not-found'];
  else if (ex.status === 'partial') code = EXIT_CODES.partial;
  else if (ex.status === 'cancelled') code = EXIT_CODES.cancelled;
  else if (ex.status === 'unverified') code = kind === 'auth' ? EXIT_CODES.auth : EXIT_CODES.verification;
  else code = own ?? EXIT_CODES['step-failed'];
  return code === EXIT_CODES.ok && ex.journal_problem ? EXIT_CODES.partial : code;
}
