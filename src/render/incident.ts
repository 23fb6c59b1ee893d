import type { Paint } from './color.js';
import type { KeyRate } from '../core/incident/rates.js';
import type { Overview } from '../core/incident/overview.js';
import type { LeakEstimate } from '../core/estimate.js';
import { humanSeconds, wrapFor } from './format.js';
import { usd } from './damage-format.js';
import { inert } from '../core/inert.js';

/** The guided incident's screens, as strings: header, agent choices, the leak comparison, next moves. */

export function headerLine(profile: string, proxyUrl: string | undefined, kind: string, p: Paint): string {
  return `${p.bold('tourniquet')} ${p.dim('·')} profile ${p.bold(profile)} ${p.dim('·')} proxy ${p.bold(proxyUrl ?? '(not set)')} ${p.dim(`(${kind})`)}`;
}

export function healthLine(o: Overview, p: Paint): string {
  const all = o.instances.length;
  const text = `${o.healthy} of ${all} instance${all === 1 ? '' : 's'} healthy`;
  const slow = o.instances.filter((i) => !i.healthy).map((i) => inert(i.instance_id));
  return (
    (o.healthy === all && all > 0 ? p.green(text) : p.yellow(text)) +
    (slow.length ? p.dim(` (not answering: ${slow.join(', ')})`) : '')
  );
}

export function multipleText(r: KeyRate): string {
  if (r.multiple === null) return r.calls_per_minute > 0 ? 'no baseline' : 'idle';
  if (r.calls_per_minute === 0) return 'idle';
  return `${r.multiple >= 10 ? Math.round(r.multiple) : r.multiple}x baseline`;
}

/** One line per key in the "Which agent?" list: name, live rate, multiple of baseline, spend. */
export function agentChoice(r: KeyRate, p: Paint): string {
  const who = inert(r.agent ?? r.agent_run_id ?? r.vault_key_id).padEnd(22);
  const rate = `${Math.round(r.calls_per_minute)}/min`.padStart(9);
  const mult = multipleText(r).padStart(16);
  const spend = `${usd(r.spend_usd_10m)} in 10m`.padStart(17);
  const line = `${who}${rate}${mult}${spend}  ${p.dim(inert(r.vault_key_id))}`;
  return r.anomalous ? p.red(`! ${line}`) : `  ${line}`;
}

/** "rotating would let about 480 more calls through at this rate; revoking lets through at most the one in flight". */
export function leakSentence(e: LeakEstimate, ratePerS: number): string {
  const inFlight = e.revoke.max_calls === 1 ? 'the one in flight' : `the ${e.revoke.max_calls} in flight`;
  if (!e.rotate)
    return `At ${Math.round(ratePerS * 60)} calls/min, rotating the production key would let calls through for as long as the vendor's edge honours it (never measured for this vendor); revoking lets through at most ${inFlight}.`;
  return (
    `At ${Math.round(ratePerS * 60)} calls/min, rotating the production key would let about ${e.rotate.p95_calls} more calls through ` +
    `(the vendor's p95 propagation tail, ${humanSeconds(e.rotate.p95_s)}; ${e.rotate.median_calls} at the median); revoking lets through at most ${inFlight}.`
  );
}

/** The next moves, numbered; on a terminal wrapped at word boundaries under their own text. */
export function nextMovesText(moves: string[], p: Paint, stream: { isTTY?: boolean; columns?: number } = {}): string {
  return [p.bold('Next'), ...moves.map((m, i) => wrapFor(stream, `  ${i + 1}. ${m}`, '     '))].join('\n');
}
