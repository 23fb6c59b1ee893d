import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { loadSettings } from '../core/config.js';
import { readJournal } from '../core/journal.js';
import { renderTimeline } from '../render/steps.js';

/** An incident's journal as a timeline: every step at its offset from t=0, with the calls it made. */
export function run({ args }: CommandInput, ctx: Ctx): number {
  const id = args[0];
  if (!id) throw usageError('name the incident', 'list them with: tourniquet incidents');
  const settings = loadSettings(ctx.io.env, ctx.flags.profile);
  const entries = readJournal(settings.get('state_dir')!, id);
  if (ctx.flags.json) ctx.out.json({ incident_id: id, entries });
  else ctx.out.data(renderTimeline(entries, ctx.out.paint));
  return 0;
}
