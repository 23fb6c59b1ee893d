import { appendFileSync } from 'node:fs';
import type { RunReport } from '../core/steps/types.js';
import { inert } from '../core/inert.js';
import { mdEscape } from './damage-md.js';

/**
 * GitHub Actions: a Markdown summary appended to $GITHUB_STEP_SUMMARY, and `::add-mask::`
 * for every secret the run printed or learned, so the log shows *** instead.
 */
export function isGithubActions(env: Record<string, string | undefined>): boolean {
  return Boolean(env.GITHUB_STEP_SUMMARY) || env.GITHUB_ACTIONS === 'true';
}

export function maskCommand(secret: string): string {
  return `::add-mask::${secret.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`;
}

const cell = (s: string) => mdEscape(inert(s));

export function summaryMarkdown(title: string, incidentId: string, status: string, report: RunReport): string {
  const rows = report.steps.map(
    (s) =>
      `| ${cell(s.title)} | ${s.state} | ${cell(s.verification ? `${s.verification.ok ? '✅' : '❌'} ${s.verification.detail}` : s.detail)} |`,
  );
  return [
    `### tourniquet ${title}: ${status === 'done' ? '✅ done' : `⚠️ ${status}`}`,
    '',
    `Incident \`${incidentId}\`${status === 'partial' ? ` — continue with \`tourniquet resume ${incidentId}\`` : ''}`,
    '',
    '| step | state | result |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export function appendSummary(env: Record<string, string | undefined>, markdown: string): void {
  const file = env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, markdown + '\n');
}

/** Step outputs for later steps (`steps.ID.outputs.NAME`): appended to $GITHUB_OUTPUT, one per line. */
export function setOutputs(
  env: Record<string, string | undefined>,
  values: Record<string, string | number | boolean | null>,
): void {
  const file = env.GITHUB_OUTPUT;
  if (!file) return;
  const lines = Object.entries(values).map(([k, v]) => `${k}=${String(v ?? '').replace(/[\r\n]+/g, ' ')}`);
  appendFileSync(file, lines.join('\n') + '\n');
}
