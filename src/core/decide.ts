import { usageError, TourniquetError } from './errors.js';
import { estimateLeak, type LeakEstimate } from './estimate.js';
import type { Catalog, Playbook } from './playbooks.js';
import type { Fact, StepKind } from './playbook-schema.js';

/**
 * The revoke-versus-rotate decision: a scenario plus the facts of this incident give a plan.
 * Pure: no network, no prompts. Facts it needs and does not have come back as `missing`,
 * so the caller can ask for them (at a terminal) or name the flag (in a script).
 */
export type Facts = Partial<Record<Fact, string>>;

export interface DecideInput {
  scenario: string;
  facts: Facts;
  /** Is a proxy in front of this vendor? */
  proxy: boolean;
  ratePerS: number;
  inFlight?: number;
}

export interface PlanStep {
  kind: StepKind;
  target: string;
  reason: string;
  manual: boolean;
  continue_as?: string;
}

export interface Plan {
  scenario: string;
  title: string;
  /** The first move. */
  action: string;
  reason: string;
  /** Set when the asked-for scenario needs a proxy and there is none. */
  fallback_from?: string;
  facts: Facts;
  proxy: boolean;
  steps: PlanStep[];
  /** Facts the steps name that were not given: shown as placeholders; `run` asks for them. */
  open_facts: Fact[];
  warnings: string[];
  then?: string;
  recommend?: string;
  leak_estimate: LeakEstimate | null;
}

export type DecideResult = { status: 'plan'; plan: Plan } | { status: 'missing'; scenario: string; missing: Fact[] };

const FACT_WORDS: Record<Fact, string> = {
  vendor: '<vendor: --vendor>',
  vault_key: '<vault key: --vault-key>',
  upstream_key: '<production key: --upstream-key>',
  agent: '<agent: --agent>',
};

const PLACEHOLDER = /\{([a-z_]+)\}/g;

export function resolveTarget(template: string, facts: Facts): string {
  return template.replace(PLACEHOLDER, (_, fact: Fact) => facts[fact] ?? FACT_WORDS[fact] ?? fact);
}

/** The facts a playbook's steps name, in order of first use. */
export function referencedFacts(pb: Playbook): Fact[] {
  return [...new Set(pb.steps.flatMap((s) => [...s.target.matchAll(PLACEHOLDER)].map((m) => m[1] as Fact)))];
}

export function findPlaybook(catalog: Catalog, id: string): Playbook {
  const pb = catalog.playbooks.get(id);
  if (!pb)
    throw usageError(
      `unknown scenario "${id}"`,
      `one of: ${[...catalog.playbooks.keys()].join(', ')} (tourniquet scenarios)`,
    );
  return pb;
}

/** The playbook that applies: a scenario whose first move needs a proxy falls back when there is none. */
function applicable(catalog: Catalog, requested: Playbook, proxy: boolean): Playbook {
  if (proxy || !requested.without_proxy) return requested;
  return findPlaybook(catalog, requested.without_proxy);
}

export function decide(catalog: Catalog, input: DecideInput): DecideResult {
  const requested = findPlaybook(catalog, input.scenario);
  const pb = applicable(catalog, requested, input.proxy);
  const needs = [...new Set([...requested.needs, ...pb.needs])];
  const missing = needs.filter((f) => !input.facts[f]);
  if (missing.length) return { status: 'missing', scenario: pb.id, missing };
  const vendorId = input.facts.vendor;
  const vendor = vendorId ? catalog.vendors.get(vendorId) : undefined;
  if (vendorId && !vendor)
    throw new TourniquetError('usage', `unknown vendor "${vendorId}"`, {
      hint: `one of: ${[...catalog.vendors.keys()].join(', ')}, or add it in a vendors.yaml of your own playbooks`,
    });
  const warnings = [...pb.warnings];
  if (pb !== requested)
    warnings.unshift(
      `There is no proxy in front of ${vendor?.title ?? 'this vendor'}, so "${requested.title}" cannot start with a revoke at the proxy; this is the slow path.`,
    );
  return {
    status: 'plan',
    plan: {
      scenario: pb.id,
      title: pb.title,
      action: pb.action,
      reason: pb.summary,
      fallback_from: pb !== requested ? requested.id : undefined,
      facts: input.facts,
      proxy: input.proxy,
      open_facts: referencedFacts(pb).filter((f) => !input.facts[f]),
      steps: pb.steps.map((s) => ({
        kind: s.kind,
        target: resolveTarget(s.target, input.facts),
        reason: s.reason,
        manual: s.kind === 'manual',
        ...(s.continue_as ? { continue_as: s.continue_as } : {}),
      })),
      warnings,
      then: pb.then,
      recommend: pb.recommend,
      leak_estimate: vendor ? estimateLeak(vendor, input.ratePerS, input.inFlight ?? 1) : null,
    },
  };
}
