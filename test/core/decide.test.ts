import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/core/playbooks.js';
import { decide, type Plan } from '../../src/core/decide.js';

const SCENARIOS: Record<string, string> = {
  'runaway-loop': 'revoke',
  'suspicious-prompt': 'revoke',
  'vault-key-in-logs': 'revoke',
  'production-key-exposed': 'rotate',
  'vendor-breach': 'rotate',
  'compliance-rotation': 'rotate',
  'no-proxy': 'rotate',
  'agent-retired': 'archive',
  'agent-credential-exposed': 'rotate-agent-credential',
  'oauth-agent-stop': 'deactivate',
  'dpop-key-compromised': 'rotate-dpop-key',
  'raw-key-wrap': 'wrap',
};

async function plan(scenario: string, extra: Partial<Parameters<typeof decide>[1]> = {}): Promise<Plan> {
  const catalog = await loadCatalog();
  const result = decide(catalog, {
    scenario,
    facts: { vendor: 'stripe', vault_key: 'vk_id_1', upstream_key: 'up_1', agent: 'ag_1' },
    proxy: true,
    ratePerS: 2.5,
    ...extra,
  });
  if (result.status !== 'plan') throw new Error(`missing ${result.missing.join(', ')}`);
  return result.plan;
}

describe('decide', () => {
  it('has exactly the twelve scenarios of the product table', async () => {
    const catalog = await loadCatalog();
    expect([...catalog.playbooks.keys()].sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  it.each(Object.entries(SCENARIOS))('%s starts with %s', async (scenario, action) => {
    const p = await plan(scenario);
    expect(p.action).toBe(action);
    expect(p.steps.length).toBeGreaterThan(0);
    for (const s of p.steps) expect(s.reason.length).toBeGreaterThan(10);
  });

  it('revokes every vault key under an exposed or breached key before rotating', async () => {
    for (const scenario of ['production-key-exposed', 'vendor-breach']) {
      const p = await plan(scenario);
      expect(p.steps.map((s) => s.kind).slice(0, 2)).toEqual(['revoke-all-under', 'rotate-via-proxy']);
      expect(p.steps[0]!.target).toBe('up_1');
    }
  });

  it('revokes no vault key in a compliance rotation', async () => {
    const p = await plan('compliance-rotation');
    expect(p.steps.some((s) => s.kind.startsWith('revoke'))).toBe(false);
  });

  it('falls back to the slow path when no proxy is in front of the vendor', async () => {
    const p = await plan('runaway-loop', { proxy: false });
    expect(p).toMatchObject({ scenario: 'no-proxy', fallback_from: 'runaway-loop', action: 'rotate' });
    expect(p.warnings[0]).toMatch(/no proxy in front of Stripe/);
  });

  it('names the missing facts instead of guessing', async () => {
    const catalog = await loadCatalog();
    expect(decide(catalog, { scenario: 'runaway-loop', facts: {}, proxy: true, ratePerS: 1 })).toEqual({
      status: 'missing',
      scenario: 'runaway-loop',
      missing: ['vendor'],
    });
  });

  it('leaves targets it was not told as placeholders and lists them', async () => {
    const catalog = await loadCatalog();
    const r = decide(catalog, { scenario: 'runaway-loop', facts: { vendor: 'stripe' }, proxy: true, ratePerS: 2.5 });
    if (r.status !== 'plan') throw new Error('expected a plan');
    expect(r.plan.open_facts).toEqual(['vault_key']);
    expect(r.plan.steps[0]!.target).toBe('<vault key: --vault-key>');
  });

  it('carries the leak comparison for the vendor', async () => {
    const p = await plan('runaway-loop');
    expect(p.leak_estimate).toMatchObject({
      vendor: 'stripe',
      rate_per_s: 2.5,
      rotate: { p95_calls: 480 },
      revoke: { max_calls: 1 },
    });
  });

  it('refuses an unknown scenario or vendor with exit 2', async () => {
    const catalog = await loadCatalog();
    expect(() => decide(catalog, { scenario: 'panic', facts: {}, proxy: true, ratePerS: 1 })).toThrow(
      /unknown scenario "panic"/,
    );
    expect(() =>
      decide(catalog, { scenario: 'runaway-loop', facts: { vendor: 'acme' }, proxy: true, ratePerS: 1 }),
    ).toThrow(/unknown vendor "acme"/);
  });
});
