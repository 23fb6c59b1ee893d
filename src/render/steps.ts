import type { Paint } from './color.js';
import type { DryRunReport, StepReport } from '../core/steps/types.js';
import type { JournalEntry } from '../core/journal.js';
import { inert } from '../core/inert.js';

/** One line per step as it finishes, for the person at the terminal. */
export function stepLine(r: StepReport, p: Paint): string {
  const mark: Record<string, string> = {
    done: p.green('✔'),
    'already-done': p.green('✔'),
    'manual-done': p.green('✔'),
    'manual-pending': p.yellow('✋'),
    'resumed-done': p.dim('✔'),
    skipped: p.dim('–'),
    'not-found': p.yellow('?'),
    failed: p.red('✖'),
    unverified: p.red('✖'),
    pending: p.dim('·'),
    'rolled-back': p.yellow('↺'),
  };
  const offset = r.started_offset_ms !== undefined ? p.dim(` [t+${fmtMs(r.started_offset_ms)}]`) : '';
  const state = r.state === 'done' ? '' : p.dim(` (${r.state})`);
  // Details quote servers and instance ids: inert (core/inert.ts).
  const verified = r.verification
    ? `\n    ${r.verification.ok ? p.green('verified:') : p.red('NOT verified:')} ${inert(r.verification.detail)}`
    : '';
  const detail =
    r.detail && r.state !== 'pending'
      ? `\n    ${r.state === 'failed' || r.state === 'manual-pending' ? p.red(inert(r.detail)) : inert(r.detail)}`
      : '';
  return `${mark[r.state] ?? '·'} ${inert(r.title)}${state}${offset}${detail}${verified}`;
}

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60000)}m${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')}s`;
}

export function renderDryRun(plan: DryRunReport, p: Paint): string {
  const lines = [p.bold('dry run: these calls would be made; none was')];
  plan.steps.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.title}${s.enabled === true ? '' : p.dim(` (skipped: ${s.enabled})`)}`);
    for (const c of s.calls) lines.push(`     ${p.cyan(c)}`);
  });
  return lines.join('\n') + '\n';
}

/** The journal as a timeline: offset from t=0, what happened, what was called. */
export function renderTimeline(entries: JournalEntry[], p: Paint): string {
  const lines: string[] = [];
  for (const e of entries) {
    const t = p.dim(`t+${fmtMs(e.offset_ms).padStart(7)}`);
    lines.push(`${t}  ${describeEntry(e, p)}`);
    for (const c of (e.calls as string[] | undefined) ?? []) lines.push(`${' '.repeat(11)}${p.cyan(inert(String(c)))}`);
  }
  return lines.join('\n') + '\n';
}

/** A journal entry in words; its values (ids, details, server messages) made inert. */
function describeEntry(e: JournalEntry, p: Paint): string {
  const t = (v: unknown) => inert(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  switch (e.type) {
    case 'started':
      return p.bold(`started ${t(e.command ?? e.scenario ?? '')}`) + (e.params ? p.dim(` ${t(e.params)}`) : '');
    case 'step': {
      const what = t(e.title ?? e.step);
      if (e.phase === 'started') return `→ ${what}`;
      if (e.phase === 'finished')
        return `${e.outcome === 'skipped' ? '–' : '✔'} ${t(e.step)}: ${t(e.outcome)}${e.detail ? ` — ${t(e.detail)}` : ''}`;
      if (e.phase === 'failed') return p.red(`✖ ${t(e.step)}: ${t(e.error)}`);
      return `${t(e.phase)} ${t(e.step)}${e.detail ? ` — ${t(e.detail)}` : ''}`;
    }
    case 'verified':
      return `${e.ok ? p.green('verified') : p.red('NOT verified')} ${t(e.step)}: ${t(e.detail)}`;
    case 'revoked':
      return `revoked ${t((e.vault_key_ids as string[]).join(', '))}${e.by ? ` by ${t(e.by)}` : ''} (effective ${t(e.effective_at)})`;
    case 'decided':
      return `decided: ${t(e.action ?? '')}${e.scenario ? ` (${t(e.scenario)})` : ''}${e.reason ? ` — ${t(e.reason)}` : ''}`;
    case 'finished':
      return p.bold(`finished: ${t(e.status)}`) + (e.error ? ` — ${t(e.error)}` : '');
    // note and paged in words as they are; so is a type from another version of the journal.
    case 'note':
    case 'paged':
    default:
      return `${t(e.type)}${e.message ? `: ${t(e.message)}` : ''}`;
  }
}
