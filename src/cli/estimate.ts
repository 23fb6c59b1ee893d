import type { Ctx } from './context.js';
import type { CommandInput } from './registry.js';
import { catalogFor } from './settings.js';
import { estimateLeak } from '../core/estimate.js';
import { rateOption } from '../core/rate.js';
import { usageError } from '../core/errors.js';
import { renderLeak } from '../render/plan.js';
import { askVendor } from './facts.js';

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const catalog = await catalogFor(ctx);
  const vendorId = (opts.vendor as string | undefined) ?? (await askVendor(ctx, catalog));
  const vendor = catalog.vendors.get(vendorId);
  if (!vendor) throw usageError(`unknown vendor "${vendorId}"`, `one of: ${[...catalog.vendors.keys()].join(', ')}`);
  const rate = rateOption(opts.rate);
  const inFlight = Number(opts.inFlight ?? 1);
  if (!Number.isInteger(inFlight) || inFlight < 0)
    throw usageError(`--in-flight must be a whole number, not "${String(opts.inFlight)}"`);
  const estimate = estimateLeak(vendor, rate.per_s, inFlight);
  if (ctx.flags.json)
    ctx.out.json({ ...estimate, rate: { text: rate.text, per_s: rate.per_s, assumed: rate.assumed } });
  else ctx.out.data(renderLeak(estimate, vendor.title, ctx.out.paint, rate.assumed));
  return 0;
}
