import type { Plan } from '../core/decide.js';
import type { LeakEstimate } from '../core/estimate.js';
import type { Paint } from './color.js';
import { humanRate, humanSeconds, plural } from './format.js';

export function renderLeak(e: LeakEstimate, vendorTitle: string, p: Paint, rateAssumed = false): string {
  return [
    `What each path leaks (${vendorTitle}, at ${humanRate(e.rate_per_s)}${rateAssumed ? `, ${p.yellow('assumed')}: seed 002's runaway agent; pass --rate for yours` : ''})`,
    `  ${p.green('revoke at the proxy ')}  at most ${plural(e.revoke.max_calls, 'call')} (in flight when it lands); ${e.revoke.hard_max_calls} with --hard`,
    ...(e.rotate
      ? [
          `  ${p.red('rotate at the vendor')}  about ${plural(e.rotate.median_calls, 'call')} at the median tail (${humanSeconds(e.rotate.median_s)}),`,
          `                        about ${plural(e.rotate.p95_calls, 'call')} at the p95 tail (${humanSeconds(e.rotate.p95_s)})`,
        ]
      : [
          `  ${p.red('rotate at the vendor')}  unknown: ${vendorTitle}'s propagation tail has not been measured; every call until its edge drops the key`,
        ]),
  ].join('\n');
}

export function renderPlan(plan: Plan, vendorTitle: string | undefined, p: Paint, rateAssumed = false): string {
  const out: string[] = [];
  out.push(`${p.bold('Scenario')}    ${plan.scenario}: ${plan.title}`);
  if (plan.fallback_from)
    out.push(`${p.yellow('Instead of')}  ${plan.fallback_from} (no proxy in front of this vendor)`);
  out.push(`${p.bold('First move')}  ${p.bold(p.cyan(plan.action.toUpperCase()))} ${plan.steps[0]?.target ?? ''}`);
  out.push(`${p.bold('Why')}         ${plan.reason}`, '', p.bold('Steps'));
  plan.steps.forEach((s, i) => {
    out.push(`  ${i + 1}. ${s.manual ? p.yellow('manual') : s.kind}  ${s.target}`);
    out.push(`     ${p.dim(s.reason)}`);
    if (s.continue_as) out.push(`     ${p.dim(`if so, continue with: tourniquet decide --scenario ${s.continue_as}`)}`);
  });
  if (plan.leak_estimate)
    out.push('', renderLeak(plan.leak_estimate, vendorTitle ?? plan.leak_estimate.vendor, p, rateAssumed));
  for (const w of plan.warnings) out.push('', `${p.yellow('warning:')} ${w}`);
  if (plan.then) out.push('', `${p.bold('Then')}  ${plan.then}`);
  if (plan.recommend) out.push(`${p.bold('Next time')}  ${plan.recommend}`);
  return out.join('\n') + '\n';
}
