import type { Ctx } from './context.js';
import type { CommandInput } from './registry.js';
import { catalogFor } from './settings.js';
import { askFact } from './facts.js';
import { decide, type Facts, type Plan } from '../core/decide.js';
import { rateOption } from '../core/rate.js';
import type { Catalog } from '../core/playbooks.js';
import { renderPlan } from '../render/plan.js';
import { planJson } from '../core/decide-json.js';
import { scalarText } from '../core/json.js';

function factsFrom(opts: Record<string, unknown>): Facts {
  const facts: Facts = {};
  const flags = { vendor: 'vendor', vault_key: 'vaultKey', upstream_key: 'upstreamKey', agent: 'agent' } as const;
  for (const [fact, flag] of Object.entries(flags) as [keyof typeof flags, string][]) {
    const value = scalarText(opts[flag]);
    if (value) facts[fact] = value;
  }
  return facts;
}

function askScenario(ctx: Ctx, catalog: Catalog): Promise<string> {
  return ctx.prompt.select({
    message: 'What is happening?',
    flag: '--scenario',
    what: 'scenario',
    choices: [...catalog.playbooks.values()].map((pb) => ({ name: pb.title, value: pb.id, description: pb.summary })),
  });
}

/** Decide, asking for each missing fact in turn (or failing on the first, naming its flag). */
export async function planFor(ctx: Ctx, catalog: Catalog, opts: Record<string, unknown>): Promise<Plan> {
  const scenario = (opts.scenario as string | undefined) ?? (await askScenario(ctx, catalog));
  const facts = factsFrom(opts);
  const ratePerS = rateOption(opts.rate).per_s;
  for (;;) {
    const result = decide(catalog, { scenario, facts, proxy: opts.proxy !== false, ratePerS });
    if (result.status === 'plan') return result.plan;
    const fact = result.missing[0]!;
    facts[fact] = await askFact(ctx, catalog, fact);
  }
}

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const catalog = await catalogFor(ctx);
  const plan = await planFor(ctx, catalog, opts);
  const rate = rateOption(opts.rate);
  if (ctx.flags.json) ctx.out.data(planJson(plan, opts.rate));
  else
    ctx.out.data(
      renderPlan(
        plan,
        plan.facts.vendor ? catalog.vendors.get(plan.facts.vendor)?.title : undefined,
        ctx.out.paint,
        rate.assumed,
      ),
    );
  return 0;
}
