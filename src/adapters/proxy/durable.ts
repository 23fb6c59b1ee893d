import { TourniquetError } from '../../core/errors.js';
import { currentDeadline, formatMs, sleepWithin } from '../../core/deadline.js';
import { errorDetail, retryAfterMs } from '../../core/http-answer.js';
import { isRecord } from '../../core/json.js';
import { NOT_DURABLE, shapeProblem } from './schemas.js';

/**
 * Contract C1, the CLI's side: a revoke (DELETE, revoke-all, roll with revoke_old) is answered
 * 200 only once it is durable in the proxy's store. A 503 `revoke_not_durable` means the
 * instance refuses the key already but could not store the revoke; the call is idempotent, so
 * it is repeated with backoff for a bounded time, within the command's deadline. Still not
 * durable at the end: a `partial` error (exit 6) naming the instance and what to run. Any other
 * 503 (the store is down) is repeated the same way and then reported as a failed step.
 */
export const NOT_DURABLE_RETRY_MS = 10_000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

const isNotDurable = (a: Answer) => a.status === 503 && shapeProblem(NOT_DURABLE, a.body) === undefined;

/** Only an explicit `"durable": true` is a revoke (unknown is not yes). */
export const saysDurable = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { durable?: unknown }).durable === true;

/**
 * `durable`: does a success answer say the revoke is durable? (A roll says it in `revoked_old`.)
 * A 2xx that does not is repeated like a 503 and, still not, is a `partial` (exit 6).
 */
export async function untilDurable<T extends Answer>(
  where: string,
  call: () => Promise<T>,
  trace?: (line: string) => void,
  budgetMs = NOT_DURABLE_RETRY_MS,
  durable: (body: unknown) => boolean = saysDurable,
): Promise<T> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    const answer = await call();
    if (answer.status < 300 ? durable(answer.body) : answer.status !== 503) return answer;
    const waited = performance.now() - started;
    const pause = Math.min(retryAfterMs(answer.headers['retry-after']) ?? 500, 2000);
    const deadline = currentDeadline();
    const room = Math.min(budgetMs - waited, deadline ? deadline.remainingMs() - 200 : Infinity);
    if (room < pause) throw giveUp(where, answer, attempt, waited);
    trace?.(`the revoke at ${where} is not durable yet (attempt ${attempt}); repeating it in ${Math.round(pause)} ms`);
    await sleepWithin(pause);
  }
}

function giveUp(where: string, answer: Answer, attempts: number, waitedMs: number): TourniquetError {
  const b = isRecord(answer.body) ? answer.body : {};
  const instance = typeof b.instance_id === 'string' ? `instance ${b.instance_id} (${where})` : `the proxy at ${where}`;
  const over = `${attempts} attempt${attempts === 1 ? '' : 's'} over ${formatMs(waitedMs)}`;
  if (answer.status === 503 && !isNotDurable(answer))
    return new TourniquetError(
      'step-failed',
      `${instance} could not revoke: HTTP 503${errorDetail(b) ? `: ${errorDetail(b)}` : ''} (${over})`,
      {
        hint: 'check the proxy and its store (GET /v1/health), then run the revoke again',
        data: { endpoint: where, status: 503 },
      },
    );
  const ids = typeof b.id === 'string' ? [b.id] : Array.isArray(b.ids) ? b.ids.map(String) : [];
  if (answer.status < 300)
    return new TourniquetError(
      'partial',
      `${instance} answered HTTP ${answer.status} without "durable": true (${over}): the revoke is not proven durable; the key may be served again after a restart`,
      {
        hint: "check the proxy's version and store (GET /v1/health); the revoke is idempotent: run `tourniquet resume INCIDENT` or the same revoke again",
        data: { endpoint: where, code: 'not_durable', status: answer.status, ids },
      },
    );
  return new TourniquetError(
    'partial',
    `${instance} refuses ${ids.length ? ids.join(', ') : 'the key'} but could not make the revoke durable (revoke_not_durable, ${over}): it may serve the key again after a restart`,
    {
      hint: "fix the proxy's store (GET /v1/health says what is wrong); the revoke is idempotent: run `tourniquet resume INCIDENT` or the same revoke again to complete it",
      data: { endpoint: where, code: 'revoke_not_durable', refused_here: b.refused_here === true, ids },
    },
  );
}
