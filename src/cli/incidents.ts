import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { loadSettings } from '../core/config.js';
import { listIncidents } from '../core/journal.js';
import { renderTable } from '../render/table.js';

/** Incidents in the state directory, newest first, with how each ended. */
export function run(_input: CommandInput, ctx: Ctx): number {
  const settings = loadSettings(ctx.io.env, ctx.flags.profile);
  const rows = listIncidents(settings.get('state_dir')!);
  if (ctx.flags.json) {
    ctx.out.json({ data: rows.map(({ dir: _dir, ...r }) => r) });
    return 0;
  }
  if (!rows.length) {
    ctx.out.info('no incidents yet');
    return 0;
  }
  ctx.out.data(
    renderTable(rows, [
      { header: 'INCIDENT', value: (r) => r.id },
      { header: 'STARTED', value: (r) => r.started_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') },
      { header: 'SCENARIO', value: (r) => r.scenario ?? '-' },
      { header: 'STATUS', value: (r) => (r.status === 'partial' ? ctx.out.paint.yellow(r.status) : r.status) },
      { header: 'ENTRIES', value: (r) => String(r.entries), align: 'right' },
    ]),
  );
  return 0;
}
