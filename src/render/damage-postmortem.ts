import type { Postmortem } from '../core/postmortem.js';
import type { DamageSummary } from '../core/damage/types.js';
import { callsChartMermaid, spendChartMermaid } from './chart-mermaid.js';
import { mdEscape, renderDamageMarkdown } from './damage-md.js';
import { spendPhrase } from './damage-minutes.js';
import { inert } from '../core/inert.js';
import { at, count, usd, type DamageView } from './damage-format.js';

/** t+0s, t+45s, t+6m05s, t+1h02m. */
export function offset(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `t+${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `t+${m}m${String(s % 60).padStart(2, '0')}s`;
  return `t+${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const esc = (s: string) => mdEscape(inert(s));

/** The spend in one phrase: a lower bound when some calls have no cost (never "$0" for unknown). */
const spend = spendPhrase;

/** Calls whose outcome was never recorded, as a clause: counted, estimated, not proven. */
const outcomeNote = (d: DamageSummary) =>
  d.outcome_unknown.calls
    ? `; ${count(d.outcome_unknown.calls)} calls with outcome unknown (estimated ${usd(d.outcome_unknown.amount_usd_estimated)}, not proven)`
    : '';

/** The postmortem draft as Markdown. Times in the operator's zone; offsets from t=0. */
export function renderPostmortemMarkdown(pm: Postmortem, v: DamageView): string {
  const d = pm.damage;
  const out = [`# Postmortem: ${pm.incident_id}`, ''];
  const headline =
    d && !d.empty
      ? `${count(d.calls_total)} calls, ${spend(d)} allowed spend, ${count(d.customers.length)} customers affected${outcomeNote(d)}`
      : 'damage not summarised';
  out.push(
    `**Scenario:** ${pm.scenario ?? 'not recorded'} · **Status:** ${pm.status} · **Opened:** ${at(pm.started_at, v)}`,
    '',
    `**In one line:** ${headline}.`,
    '',
  );
  out.push('## Timeline', '', '| t+ | time | what |', '| --- | --- | --- |');
  for (const item of pm.timeline) out.push(`| ${offset(item.offset_ms)} | ${at(item.at, v)} | ${esc(item.what)} |`);
  out.push('', '## Decision', '');
  out.push(
    pm.decision
      ? `${esc(pm.decision.action)}. Why: ${esc(pm.decision.reason)}.`
      : 'No decision was recorded in the journal.',
  );
  out.push('');
  if (d) {
    out.push(renderDamageMarkdown(d, v, '##').trimEnd());
    for (const chart of [callsChartMermaid(d, v), spendChartMermaid(d, v)]) if (chart) out.push('', chart);
  } else out.push('## Damage', '', pm.damage_note ?? 'No damage summary.');
  const r = pm.recommendations;
  out.push('', '## Recommendations', '');
  out.push(`1. **Prevent this failure:** ${r.prevent.text} _(${r.prevent.because})_`);
  out.push(`2. **Shorten the next incident:** ${r.faster.text} _(${r.faster.because})_`);
  return out.join('\n') + '\n';
}

/** The few lines posted to the incident channel. */
export function notifyText(pm: Postmortem, v: DamageView): string {
  const d = pm.damage;
  const lines = [`*Postmortem draft ${pm.incident_id}* (${pm.status})`];
  if (pm.revoked)
    lines.push(
      `Revoked ${inert(pm.revoked.vault_key_ids.join(', ')) || 'vault key'}${pm.revoked.by ? ` by ${inert(pm.revoked.by)}` : ''} at ${at(pm.revoked.at, v)}`,
    );
  if (d && !d.empty) {
    lines.push(
      `${count(d.calls_total)} calls (${count(d.calls_allowed)} allowed), ${spend(d)} across ${count(d.customers.length)} customers${outcomeNote(d)}`,
    );
    if (d.after_revoke)
      lines.push(
        `After the revoke: ${d.after_revoke.in_flight ?? '?'} in flight, ${count(d.after_revoke.later)} later (${count(d.after_revoke.later_allowed)} allowed)`,
      );
  } else lines.push(pm.damage_note ?? 'No damage summary.');
  lines.push(`Prevent: ${pm.recommendations.prevent.text}`, `Faster: ${pm.recommendations.faster.text}`);
  return lines.join('\n');
}
