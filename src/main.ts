import { Command, CommanderError, Option } from 'commander';
import { COMMANDS, HELP_GROUPS, type CommandSpec } from './cli/registry.js';
import { createContext, type Ctx, type GlobalFlags } from './cli/context.js';
import { processIo, type Io } from './cli/io.js';
import { EXIT_CODES, TourniquetError, isPromptCancel } from './core/errors.js';
import { itemMarker, wrapMarker } from './help-layout.js';
import { isSqliteBindingError, sqliteBindingError } from './core/sqlite-binding.js';
import { secretInText, secretOnArgv } from './core/secrets.js';
import { withDeadline } from './core/deadline.js';
import { inertJson, inertLines } from './core/inert.js';

export const VERSION = '0.1.0';

const EXIT_HELP = `
Exit codes:
  0    done, and verified            5    not verified: the credential still works, or not proven dead
  1    a step failed                 6    partly done: \`tourniquet resume <incident>\` continues
  2    bad usage or invalid input    7    a check found a problem (watch, doctor, drill)
  3    our admin credentials refused 130  cancelled by the operator
  4    the thing named does not exist
`;

interface RunState {
  ctx?: Ctx;
  code: number;
}

function registerCommand(parent: Command, spec: CommandSpec, io: Io, state: RunState, signal?: AbortSignal): void {
  const cmd = parent.command(spec.name).description(spec.summary);
  spec.configure?.(cmd);
  if (spec.help) cmd.addHelpText('after', spec.help);
  for (const child of spec.subcommands ?? []) registerCommand(cmd, child, io, state, signal);
  if (!spec.load) return;
  const load = spec.load;
  cmd.action(async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const flags = command.optsWithGlobals<GlobalFlags & { deadline?: string }>();
    const ctx = createContext(io, flags, signal);
    state.ctx = ctx;
    // Only networked commands have a deadline; the long-running servers (proxy, sandbox, demo) never do.
    const deadline = spec.deadline
      ? (await import('./cli/deadline.js')).commandDeadline(
          spec.name,
          spec.deadline,
          command.opts(),
          flags.deadline,
          io.env,
          flags.profile,
        )
      : undefined;
    try {
      const mod = await load();
      const result = await withDeadline(deadline, async () =>
        mod.run({ args: command.args, opts: command.opts(), name: command.name() }, ctx),
      );
      state.code = typeof result === 'number' ? result : 0;
    } finally {
      deadline?.dispose();
    }
  });
}

/** Commands in their help groups; one not placed in a group is listed last, never lost. */
function inHelpOrder(): Array<{ spec: CommandSpec; group: string }> {
  const groupOf = new Map(HELP_GROUPS.flatMap(([heading, names]) => names.map((n) => [n, heading] as const)));
  const rank = (name: string) => HELP_GROUPS.flatMap(([, names]) => names).indexOf(name);
  const placed = COMMANDS.filter((c) => groupOf.has(c.name)).sort((a, b) => rank(a.name) - rank(b.name));
  const rest = COMMANDS.filter((c) => !groupOf.has(c.name));
  return [
    ...placed.map((spec) => ({ spec, group: groupOf.get(spec.name)! })),
    ...rest.map((spec) => ({ spec, group: 'Other:' })),
  ];
}

function buildProgram(io: Io, state: RunState, signal?: AbortSignal): Command {
  const program = new Command('tourniquet')
    .description('Stop a runaway AI agent or a leaked key: revoke or rotate, verified, with the damage summary.')
    .version(VERSION, '-V, --version')
    .option('--json', 'machine-readable output on stdout (and nothing else there)')
    .option('--no-input', 'never prompt; a missing value is exit 2 naming its flag (implied by CI or a non-TTY stdin)')
    .option('-y, --yes', 'answer confirmations with yes (for scripts)')
    .option('--dry-run', 'print every call it would make and make none')
    .addOption(new Option('--profile <name>', 'config profile to use').env('TOURNIQUET_PROFILE'))
    .option('--no-color', 'no colour (also NO_COLOR, TERM=dumb, or output that is not a terminal)')
    .option('--debug', 'trace HTTP calls (secrets redacted) and show stack traces of bugs')
    .option(
      '--deadline <duration>',
      'the most a networked command may wait on the network in all, e.g. 20s, 2m (TOURNIQUET_DEADLINE_MS, deadline_ms)',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`tourniquet: ${s.replace(/^error: /, '')}`),
    })
    .addHelpText('after', EXIT_HELP);
  program.configureHelp({ sortSubcommands: false, showGlobalOptions: true });
  for (const { spec, group } of inHelpOrder()) {
    registerCommand(program, spec, io, state, signal);
    program.commands.at(-1)!.helpGroup(group);
  }
  return program;
}

function reportError(thrown: unknown, io: Io, ctx: Ctx | undefined, argv: readonly string[]): number {
  // A missing native module is an installation to finish, not a bug: say what to run.
  const err =
    !(thrown instanceof TourniquetError) && isSqliteBindingError(thrown) ? sqliteBindingError(thrown) : thrown;
  const json = ctx?.flags.json ?? argv.includes('--json');
  const debug = ctx?.flags.debug ?? argv.includes('--debug');
  const scrub = (s: string) => ctx?.secrets.scrub(s) ?? s;
  let kind: string;
  let code: number;
  let message: string;
  let hint: string | undefined;
  let data: Record<string, unknown> | undefined;
  if (err instanceof TourniquetError) {
    ({ kind, message, hint, data } = err);
    code = err.exitCode;
  } else if (isPromptCancel(err)) {
    kind = 'cancelled';
    code = EXIT_CODES.cancelled;
    message = 'cancelled by the operator';
  } else {
    kind = 'bug';
    code = EXIT_CODES.bug;
    message = `internal error (this is a bug in tourniquet): ${err instanceof Error ? err.message : String(err)}`;
    hint = debug ? undefined : 'run again with --debug for the stack trace, and report it';
  }
  // Messages may quote a server or a file: shown, never obeyed by the terminal (core/inert.ts).
  io.stderr.write(scrub(inertLines(`tourniquet: ${message}\n`)));
  if (hint) io.stderr.write(scrub(inertLines(`  ${hint}\n`)));
  if (kind === 'bug' && debug && err instanceof Error && err.stack)
    io.stderr.write(scrub(inertLines(err.stack + '\n')));
  if (json) io.stdout.write(scrub(inertJson({ error: { kind, exit_code: code, message, hint, ...data } }, 2) + '\n'));
  return code;
}

/**
 * Secrets never go on argv: refuse one before anything else runs (it is already in shell
 * history). A key anywhere in an argument counts (inside --reason, an --endpoint pattern, a
 * label), and so does a password inside a URL: the same message as for a bare key.
 */
function refuseSecretsOnArgv(argv: readonly string[]): void {
  if (argv.some((a) => secretInText(a) !== undefined)) throw secretOnArgv();
}

/**
 * The root `--help` as commander writes it, its items and description left as markers for
 * layoutHelp: the build writes it to dist/ so `tourniquet --help` need not load commander.
 */
export function helpTemplate(): string {
  let text = '';
  const sink = { write: (s: string) => ((text += s), true) };
  const io: Io = { stdout: sink, stderr: sink, stdin: process.stdin, env: {}, cwd: '/' };
  const program = buildProgram(io, { code: 0 });
  program.configureHelp({ ...program.configureHelp(), formatItem: itemMarker, boxWrap: wrapMarker });
  program.outputHelp();
  return text;
}

/** Run the CLI. Returns the exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: Io = processIo(), signal?: AbortSignal): Promise<number> {
  const state: RunState = { code: 0 };
  try {
    refuseSecretsOnArgv(argv);
    const program = buildProgram(io, state, signal);
    // No arguments: the guided incident when someone is at a terminal, help otherwise.
    const guided = argv.length === 0 && io.stdin.isTTY === true && io.stderr.isTTY === true;
    if (argv.length === 0 && !guided) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(guided ? ['incident'] : [...argv], { from: 'user' });
    return state.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return 0;
      return EXIT_CODES.usage;
    }
    return reportError(err, io, state.ctx, argv);
  }
}
