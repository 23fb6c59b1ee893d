import type { Command } from 'commander';
import type { Ctx } from './context.js';

/** What a command module exports: parse its inputs, call one core function, render. */
export interface CommandModule {
  run(input: CommandInput, ctx: Ctx): Promise<number | void>;
}

export interface CommandInput {
  /** Positional operands, in order. */
  args: string[];
  /** This command's options (global options live on ctx.flags). */
  opts: Record<string, unknown>;
  /** The command's name; for a subcommand, its own name ("set" of "config set"). */
  name: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Declare arguments and options; runs eagerly so --help lists them, but loads nothing. */
  configure?: (cmd: Command) => void;
  /** The module is imported only when this command runs (fast --help and cold start). */
  load?: () => Promise<CommandModule>;
  subcommands?: CommandSpec[];
  /** Extra help text shown after the options. */
  help?: string;
}

/** Every command, in the order `--help` lists them. Add new commands here. */
export const COMMANDS: CommandSpec[] = [
  {
    name: 'scenarios',
    summary: 'list the incident scenarios tourniquet knows, with their first move',
    load: () => import('./scenarios.js'),
  },
  {
    name: 'decide',
    summary: 'the plan for a scenario: first move, ordered steps, why, and what each path leaks (no side effects)',
    configure: (cmd) =>
      cmd
        .option('-s, --scenario <id>', 'scenario id (see `tourniquet scenarios`)')
        .option('--vendor <vendor>', 'the vendor involved: stripe, openai, twilio, resend, or one from a vendor file')
        .option('--vault-key <id>', 'the vault key involved (its id, never its secret)')
        .option('--upstream-key <id>', 'the production key involved (its id at the proxy)')
        .option('--agent <id>', 'the agent involved')
        .option('--no-proxy', 'there is no proxy in front of this vendor')
        .option('--rate <rate>', 'the agent\'s call rate for the leak estimate, e.g. 1/400ms, 150/min, 2.5/s', '1/400ms'),
    load: () => import('./decide.js'),
  },
  {
    name: 'estimate',
    summary: 'calls leaked while stopping an agent: rotating at the vendor versus revoking at the proxy',
    configure: (cmd) =>
      cmd
        .option('--vendor <vendor>', 'the vendor (stripe, openai, twilio, resend, ...)')
        .option('--rate <rate>', 'the agent\'s call rate, e.g. 1/400ms, 150/min, 2.5/s')
        .option('--in-flight <n>', 'requests in flight at the proxy when the revoke lands', '1'),
    load: () => import('./estimate.js'),
  },
  {
    name: 'config',
    summary: 'profiles and settings: list (with where each value came from), get, set, unset, use',
    subcommands: [
      { name: 'list', summary: 'every setting of the profile and where its value came from', load: () => import('./config.js') },
      {
        name: 'get',
        summary: 'one setting\'s value',
        configure: (cmd) => cmd.argument('<key>'),
        load: () => import('./config.js'),
      },
      {
        name: 'set',
        summary: 'set a setting in the profile (secrets are refused: store a reference such as a file path)',
        configure: (cmd) => cmd.argument('<key>').argument('<value>'),
        load: () => import('./config.js'),
      },
      {
        name: 'unset',
        summary: 'remove a setting from the profile',
        configure: (cmd) => cmd.argument('<key>'),
        load: () => import('./config.js'),
      },
      {
        name: 'use',
        summary: 'make a profile the current one',
        configure: (cmd) => cmd.argument('<profile>'),
        load: () => import('./config.js'),
      },
    ],
  },
];
