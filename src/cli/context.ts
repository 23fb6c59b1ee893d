import type { Io } from './io.js';
import { colorEnabled, paint, type Paint } from '../render/color.js';
import { SecretRegistry } from '../core/secrets.js';
import { inertJson, inertTerminal } from '../core/inert.js';
import { Prompter } from './prompt.js';

/** The options every command shares, as commander parses them on the root program. */
export interface GlobalFlags {
  json?: boolean;
  input?: boolean; // --no-input sets this to false
  yes?: boolean;
  dryRun?: boolean;
  profile?: string;
  color?: boolean; // --no-color sets this to false
  debug?: boolean;
}

/** Data to stdout, people to stderr; every line passes the secret scrubber on its way out. */
export class Output {
  readonly paint: Paint;
  readonly errPaint: Paint;

  constructor(
    private readonly io: Io,
    private readonly secrets: SecretRegistry,
    colorFlag: boolean,
  ) {
    this.paint = paint(colorEnabled(io.stdout, io.env, colorFlag));
    this.errPaint = paint(colorEnabled(io.stderr, io.env, colorFlag));
  }

  /** Data for stdout: a table, a plan, a report. Control characters are shown, never obeyed (core/inert.ts). */
  data(text: string): void {
    this.io.stdout.write(this.secrets.scrub(inertTerminal(text.endsWith('\n') ? text : text + '\n')));
  }

  /** JSON on stdout: the data intact (it parses back the same), inert on a terminal. */
  json(value: unknown): void {
    this.io.stdout.write(this.secrets.scrub(inertJson(value, 2) + '\n'));
  }

  /** Progress and explanations for the person at the terminal: stderr. */
  info(text: string): void {
    this.io.stderr.write(this.secrets.scrub(inertTerminal(text.endsWith('\n') ? text : text + '\n')));
  }

  warn(text: string): void {
    this.info(`${this.errPaint.yellow('warning:')} ${text}`);
  }

  get stdoutColumns(): number {
    return this.io.stdout.columns ?? 80;
  }
}

export interface Ctx {
  io: Io;
  flags: Required<Omit<GlobalFlags, 'profile'>> & { profile?: string };
  /** True only when someone can answer a prompt: a TTY on stdin and stderr, no --no-input, no CI. */
  interactive: boolean;
  out: Output;
  prompt: Prompter;
  secrets: SecretRegistry;
  /** Debug tracer for HTTP calls; a no-op unless --debug. Lines are scrubbed of secrets. */
  trace: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM; long-running commands stop cleanly when it fires. */
  signal: AbortSignal;
}

export function isInteractive(io: Io, flags: GlobalFlags): boolean {
  if (flags.input === false) return false;
  if (io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false' && io.env.CI !== '0') return false;
  return io.stdin.isTTY === true && io.stderr.isTTY === true;
}

export function createContext(io: Io, raw: GlobalFlags, signal: AbortSignal = new AbortController().signal): Ctx {
  const flags = {
    json: raw.json === true,
    input: raw.input !== false,
    yes: raw.yes === true,
    dryRun: raw.dryRun === true,
    color: raw.color !== false,
    debug: raw.debug === true,
    profile: raw.profile,
  };
  const secrets = new SecretRegistry();
  const interactive = isInteractive(io, raw);
  const out = new Output(io, secrets, flags.color);
  const prompt = new Prompter(io, interactive, flags.yes);
  const trace = flags.debug ? (line: string) => out.info(out.errPaint.dim(`debug: ${line}`)) : () => {};
  return { io, flags, interactive, out, prompt, secrets, trace, signal };
}
