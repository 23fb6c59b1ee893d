import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { loadSettings } from '../core/config.js';
import { usageError } from '../core/errors.js';
import { buildQuery, computeDamage, type WindowFlags } from '../core/damage/damage.js';
import { incidentQuery } from '../core/postmortem-journal.js';
import { readJournal } from '../core/journal.js';
import type { DamageQuery } from '../core/damage/types.js';
import { checkRefundsPath, writeRefunds } from '../core/damage/refunds.js';
import { checkTimeZone } from '../core/damage/time.js';
import { renderDamageText } from '../render/damage.js';
import { renderDamageMarkdown } from '../render/damage-md.js';
import { auditSourceFromFlags, type SourceFlags } from '../core/damage/resolve.js';

/** Without a window, `--incident` looks this far back before the incident opened. */
const INCIDENT_LOOKBACK_MS = 60 * 60_000;

interface DamageOpts extends WindowFlags, SourceFlags {
  incident?: string;
  refunds?: string;
  format?: string;
  top?: string;
}

/**
 * `--incident`: what the flags left open comes from the journal: the revoke time, the one
 * vault key revoked, and (without --since/--from/--to) the window around the incident.
 */
function fromIncident(q: DamageQuery, o: DamageOpts, stateDir: string, ctx: Ctx): void {
  const entries = readJournal(stateDir, o.incident!);
  if (entries.length === 0) throw usageError(`the journal of ${o.incident} is empty`);
  const inc = incidentQuery(entries, INCIDENT_LOOKBACK_MS);
  if (o.since === undefined && o.from === undefined && o.to === undefined)
    Object.assign(q, { from: inc.from, to: inc.to });
  q.revoked_at ??= inc.revoked_at;
  if (
    o.vaultKey === undefined &&
    o.agentRun === undefined &&
    o.customer === undefined &&
    inc.vault_key_id !== undefined
  )
    q.vault_key_id = inc.vault_key_id;
  if (q.revoked_at === undefined)
    ctx.out.warn(`incident ${o.incident} has no revoke in its journal: no after-revoke split`);
}

/** `tourniquet damage`: one source, one window, one summary. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const o = opts as DamageOpts;
  const format = ctx.flags.json ? 'json' : (o.format ?? 'text');
  const top = o.top === undefined ? undefined : Number(o.top);
  if (top !== undefined && (!Number.isInteger(top) || top < 1))
    throw usageError(`--top ${o.top}: not a positive whole number`);
  if (!['text', 'md', 'json'].includes(format)) throw usageError(`--format ${format}: unknown`, 'use text, md or json');
  const settings = loadSettings(ctx.io.env, ctx.flags.profile);
  const query = buildQuery(o, Date.now());
  if (o.refunds !== undefined) await checkRefundsPath(o.refunds);
  if (o.incident !== undefined) fromIncident(query, o, settings.get('state_dir')!, ctx);
  const source = await auditSourceFromFlags(o, settings, {
    env: ctx.io.env,
    stdin: ctx.io.stdin,
    secrets: ctx.secrets,
    trace: ctx.trace,
  });
  const summary = await computeDamage(source, query, ctx.signal);
  if (o.refunds !== undefined) {
    await writeRefunds(o.refunds, summary);
    ctx.out.info(`refund candidates: ${summary.customers.length} customers written to ${o.refunds}`);
  }
  const tz = checkTimeZone(ctx.io.env.TZ);
  if (format === 'json') ctx.out.json(summary);
  else if (format === 'md') ctx.out.data(renderDamageMarkdown(summary, { tz }));
  else ctx.out.data(renderDamageText(summary, { tz, paint: ctx.out.paint, tty: ctx.io.stdout.isTTY === true, top }));
  if (summary.bad_rows.count > 0 && format !== 'text')
    ctx.out.warn(
      `${summary.bad_rows.count} unreadable rows skipped (first at ${summary.bad_rows.first_lines.join(', ')})`,
    );
  return 0;
}
