import type { Io } from './io.js';
import { cancelled, isPromptCancel, missingInput } from '../core/errors.js';
import { pausedDeadline } from '../core/deadline.js';

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  /** What the answered prompt shows instead of the whole name (a table row is too wide to echo). */
  short?: string;
}

/**
 * The one place that prompts. Every question names the flag that answers it, so that with
 * nobody at a terminal the command fails at once with exit 2 and says which flag to pass.
 * Prompts draw on stderr, so stdout stays clean for data. Ctrl-C becomes a clean cancel (130).
 */
export class Prompter {
  constructor(
    private readonly io: Io,
    readonly interactive: boolean,
    private readonly yes: boolean,
  ) {}

  private get context() {
    return { input: this.io.stdin, output: this.io.stderr as NodeJS.WritableStream, clearPromptOnDone: false };
  }

  private async ask<T>(flag: string, what: string, run: () => Promise<T>): Promise<T> {
    if (!this.interactive) throw missingInput(flag, what);
    try {
      // Time a person spends reading and answering is not time waiting on the network.
      return await pausedDeadline(run);
    } catch (err) {
      if (isPromptCancel(err)) throw cancelled();
      throw err;
    }
  }

  async select<T>(opts: {
    message: string;
    flag: string;
    what: string;
    choices: Choice<T>[];
    default?: T;
  }): Promise<T> {
    const { select } = await import('@inquirer/prompts');
    return this.ask(opts.flag, opts.what, () =>
      select<T>({ message: opts.message, choices: opts.choices, default: opts.default, loop: false }, this.context),
    );
  }

  async search<T>(opts: { message: string; flag: string; what: string; choices: Choice<T>[] }): Promise<T> {
    const { search } = await import('@inquirer/prompts');
    return this.ask(opts.flag, opts.what, () =>
      search<T>(
        {
          message: opts.message,
          source: (term) => {
            const t = (term ?? '').toLowerCase();
            return opts.choices.filter((c) => !t || c.name.toLowerCase().includes(t));
          },
        },
        this.context,
      ),
    );
  }

  async input(opts: {
    message: string;
    flag: string;
    what: string;
    default?: string;
    validate?: (v: string) => true | string;
  }): Promise<string> {
    const { input } = await import('@inquirer/prompts');
    return this.ask(opts.flag, opts.what, () =>
      input({ message: opts.message, default: opts.default, validate: opts.validate }, this.context),
    );
  }

  /** A masked prompt for a secret. */
  async password(opts: { message: string; flag: string; what: string }): Promise<string> {
    const { password } = await import('@inquirer/prompts');
    return this.ask(opts.flag, opts.what, () =>
      password({ message: opts.message, mask: '•', validate: (v) => (v.trim() ? true : 'empty') }, this.context),
    );
  }

  /** y/n confirmation; --yes answers it. A "no" is a cancel. */
  async confirm(message: string): Promise<void> {
    if (this.yes) return;
    const { confirm } = await import('@inquirer/prompts');
    const ok = await this.ask('--yes', 'confirmation', () => confirm({ message, default: false }, this.context));
    if (!ok) throw cancelled();
  }

  /** For the dangerous moves: the operator types a word (the vendor's name) to go on. --yes answers it. */
  async typeToConfirm(message: string, word: string): Promise<void> {
    if (this.yes) return;
    const { input } = await import('@inquirer/prompts');
    await this.ask('--yes', 'confirmation', () =>
      input(
        {
          message: `${message} Type "${word}" to go on:`,
          validate: (v) => (v.trim() === word ? true : `type ${word}`),
        },
        this.context,
      ),
    );
  }
}
