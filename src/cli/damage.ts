import { writeFile } from 'node:fs/promises';
import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { loadSettings } from '../core/config.js';
import { usageError } from '../core/errors.js';
import { buildQuery, computeDamage, type WindowFlags } from '../core/damage/damage.js';
import { revokeFromJournal } from '../core/postmortem-journal.js';
import { refundsCsv } from '../core/damage/refunds.js';
import { checkTimeZone } from '../core/damage/time.js';
import { renderDamageText } from '../render/damage.js';
import { renderDamageMarkdown } from '../render/damage-md.js';
import { auditSourceFromFlags, type SourceFlags } from '../core/damage/resolve.js';

interface DamageOpts extends WindowFlags, SourceFlags {
  incident?: string;
  refunds?: string;
  format?: string;
  top?: string;
}

/** `tourniquet damage`: one source, one window, one summary. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const o = opts as DamageOpts;
  const format = ctx.flags.json ? 'json' : (o.format ?? 'text');
  const top = o.top === undefined ? undefined : Number(o.top);
  if (top !== undefined && (!Number.isInteger(top) || top < 1)) throw usageError(`--top ${o.top}: not a positive whole number`);
  if (!['text', 'md', 'json'].includes(format)) throw usageError(`--format ${format}: unknown`, 'use text, md or json');
  const settings = await loadSettings(ctx.io.env, ctx.flags.profile);
  const window: WindowFlags = { ...o };
  if (o.incident !== undefined) {
    const rev = revokeFromJournal(settings.get('state_dir')!, o.incident);
    window.revokedAt ??= rev.revoked_at ?? undefined;
    if (window.vaultKey === undefined && rev.vault_key_ids.length === 1) window.vaultKey = rev.vault_key_ids[0];
    if (rev.revoked_at === null && o.revokedAt === undefined) ctx.out.warn(`incident ${o.incident} has no revoke in its journal: no after-revoke split`);
  }
  const query = buildQuery(window, Date.now());
  const source = await auditSourceFromFlags(o, settings, { env: ctx.io.env, stdin: ctx.io.stdin, secrets: ctx.secrets, trace: ctx.trace });
  const summary = await computeDamage(source, query, ctx.signal);
  if (o.refunds !== undefined) {
    await writeFile(o.refunds, refundsCsv(summary), { mode: 0o600 });
    ctx.out.info(`refund candidates: ${summary.customers.length} customers written to ${o.refunds}`);
  }
  const tz = checkTimeZone(ctx.io.env.TZ);
  if (format === 'json') ctx.out.json(summary);
  else if (format === 'md') ctx.out.data(renderDamageMarkdown(summary, { tz }));
  else ctx.out.data(renderDamageText(summary, { tz, paint: ctx.out.paint, tty: ctx.io.stdout.isTTY === true, top }));
  if (summary.bad_rows.count > 0 && format !== 'text') ctx.out.warn(`${summary.bad_rows.count} unreadable rows skipped (first at ${summary.bad_rows.first_lines.join(', ')})`);
  return 0;
}
