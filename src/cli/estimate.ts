import type { Ctx } from './context.js';
import type { CommandInput } from './registry.js';
import { catalogFor } from './settings.js';
import { estimateLeak } from '../core/estimate.js';
import { parseRate } from '../core/rate.js';
import { usageError } from '../core/errors.js';
import { renderLeak } from '../render/plan.js';
import { askVendor } from './facts.js';

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const catalog = await catalogFor(ctx);
  const vendorId = (opts.vendor as string | undefined) ?? (await askVendor(ctx, catalog));
  const vendor = catalog.vendors.get(vendorId);
  if (!vendor) throw usageError(`unknown vendor "${vendorId}"`, `one of: ${[...catalog.vendors.keys()].join(', ')}`);
  const rateText =
    (opts.rate as string | undefined) ??
    (await ctx.prompt.input({ message: 'How fast is the agent calling? (e.g. 1/400ms, 150/min)', flag: '--rate', what: 'call rate', default: '1/400ms' }));
  const inFlight = Number(opts.inFlight ?? 1);
  if (!Number.isInteger(inFlight) || inFlight < 0) throw usageError(`--in-flight must be a whole number, not "${String(opts.inFlight)}"`);
  const estimate = estimateLeak(vendor, parseRate(rateText), inFlight);
  if (ctx.flags.json) ctx.out.json(estimate);
  else ctx.out.data(renderLeak(estimate, vendor.title, ctx.out.paint));
  return 0;
}
