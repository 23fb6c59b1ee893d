/**
 * One error taxonomy for the whole tool. Every failure a user can act on is a
 * TourniquetError with a kind; the kind alone decides the exit code (see EXIT_CODES).
 * Anything else that escapes is a bug and is reported as one.
 */
export type ErrorKind =
  'step-failed' | 'usage' | 'auth' | 'not-found' | 'verification' | 'partial' | 'check' | 'cancelled';

export const EXIT_CODES: Record<ErrorKind | 'ok' | 'bug', number> = {
  ok: 0,
  'step-failed': 1,
  bug: 1,
  usage: 2,
  auth: 3,
  'not-found': 4,
  verification: 5,
  partial: 6,
  check: 7,
  cancelled: 130,
};

export interface ErrorDetails {
  /** The next thing the operator can do about it. */
  hint?: string;
  /** Machine-readable extras for --json error output. */
  data?: Record<string, unknown>;
  cause?: unknown;
}

export class TourniquetError extends Error {
  readonly kind: ErrorKind;
  readonly hint?: string;
  readonly data?: Record<string, unknown>;

  constructor(kind: ErrorKind, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TourniquetError';
    this.kind = kind;
    this.hint = details.hint;
    this.data = details.data;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export const usageError = (message: string, hint?: string, data?: Record<string, unknown>) =>
  new TourniquetError('usage', message, { hint, data });

/** A value the command needs and nobody is at a terminal to give it. */
export const missingInput = (flag: string, what: string) =>
  usageError(
    `missing ${what}: pass ${flag}`,
    `no terminal to ask on (--no-input, CI, or piped stdin); ${flag} supplies it`,
    {
      flag,
    },
  );

export const cancelled = () => new TourniquetError('cancelled', 'cancelled by the operator');

export function isTourniquetError(err: unknown): err is TourniquetError {
  return err instanceof TourniquetError;
}

/** Inquirer throws an ExitPromptError on Ctrl-C; commander and others have their own. */
export function isPromptCancel(err: unknown): boolean {
  return err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError');
}
