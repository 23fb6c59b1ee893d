import { writeFile } from 'node:fs/promises';
import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { loadSettings, type Settings } from '../core/config.js';
import { readJournal, type JournalEntry } from '../core/journal.js';
import { usageError } from '../core/errors.js';
import { buildPostmortem } from '../core/postmortem.js';
import { incidentQuery, journalAuditSource } from '../core/postmortem-journal.js';
import { postWebhook } from '../core/postmortem-notify.js';
import { computeDamage } from '../core/damage/damage.js';
import { checkTimeZone, parseDuration } from '../core/damage/time.js';
import { auditSourceFromFlags, type SourceFlags } from '../core/damage/resolve.js';
import type { DamageSummary } from '../core/damage/types.js';
import { notifyText, renderPostmortemMarkdown } from '../render/damage-postmortem.js';

interface PostmortemOpts extends SourceFlags {
  since?: string;
  notify?: boolean;
  output?: string;
}

async function damageFor(
  entries: readonly JournalEntry[],
  flags: PostmortemOpts,
  settings: Settings,
  ctx: Ctx,
): Promise<{ damage: DamageSummary | null; note: string | null }> {
  // --source, else the rows the incident kept itself (the demo's), else the profile's source.
  const o = { ...flags, source: flags.source ?? journalAuditSource(entries) };
  if (!o.source && !settings.get('audit_source') && !settings.get('proxy_url'))
    return {
      damage: null,
      note: 'No audit source configured, so no damage summary: pass --source, or set audit_source in the profile.',
    };
  const query = incidentQuery(entries, parseDuration(o.since ?? '60m', '--since'));
  try {
    const source = await auditSourceFromFlags(o, settings, {
      env: ctx.io.env,
      stdin: ctx.io.stdin,
      secrets: ctx.secrets,
      trace: ctx.trace,
    });
    return { damage: await computeDamage(source, query, ctx.signal), note: null };
  } catch (err) {
    // The write-up is still worth having without the numbers; say why they are missing.
    ctx.out.warn(`no damage summary: ${(err as Error).message}`);
    return { damage: null, note: `The damage summary could not be read: ${(err as Error).message}` };
  }
}

/** `tourniquet postmortem <incident>`: Markdown from the journal and the audit rows. */
export async function run({ args, opts }: CommandInput, ctx: Ctx): Promise<number> {
  const o = opts as PostmortemOpts;
  const id = args[0];
  if (!id) throw usageError('which incident?', 'pass its id: tourniquet postmortem inc_…');
  const settings = loadSettings(ctx.io.env, ctx.flags.profile);
  const entries = readJournal(settings.get('state_dir')!, id);
  if (entries.length === 0) throw usageError(`the journal of ${id} is empty`);
  const { damage, note } = await damageFor(entries, o, settings, ctx);
  const pm = buildPostmortem(id, entries, damage, note);
  const view = { tz: checkTimeZone(ctx.io.env.TZ) };
  const markdown = renderPostmortemMarkdown(pm, view);
  if (o.output) {
    await writeFile(o.output, markdown, { mode: 0o600 });
    ctx.out.info(`postmortem written to ${o.output}`);
  }
  if (ctx.flags.json) ctx.out.json({ ...pm, markdown });
  else if (!o.output) ctx.out.data(markdown);
  if (o.notify) {
    const url = settings.get('webhook_url');
    if (!url) throw usageError('--notify needs a webhook', 'set webhook_url in the profile, or TOURNIQUET_WEBHOOK_URL');
    ctx.secrets.add(url);
    await postWebhook(url, notifyText(pm, view));
    ctx.out.info('posted the summary to the webhook');
  }
  return 0;
}
