import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { settingsFor } from './settings.js';
import { headerLine } from '../render/incident.js';

/**
 * `tourniquet incident` (and `tourniquet` alone at a terminal). The first line (profile and
 * proxy) goes out before the rest of the flow is even loaded: something on screen at once.
 */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const settings = settingsFor(ctx);
  ctx.out.info(
    headerLine(
      settings.profile,
      settings.get('proxy_url'),
      settings.get('proxy_kind') ?? 'tourniquet',
      ctx.out.errPaint,
    ),
  );
  const flow = await import('./incident-flow.js');
  const report = await flow.guidedIncident(ctx, flow.answersFrom(opts), { settings });
  flow.printReport(ctx, report);
  return report.exit_code;
}
