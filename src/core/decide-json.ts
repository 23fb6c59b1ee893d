import type { Plan } from './decide.js';
import { rateOption } from './rate.js';

/**
 * What `decide --json` prints for a plan: the plan and the rate its leak estimate used (assumed
 * when --rate was not given). One function, so the full CLI and the cold-start fast path
 * (src/fast-path.ts) cannot print different things.
 */
export function planJson(plan: Plan, rateFlag: unknown): string {
  const rate = rateOption(rateFlag);
  return (
    JSON.stringify({ ...plan, rate: { text: rate.text, per_s: rate.per_s, assumed: rate.assumed } }, null, 2) + '\n'
  );
}
