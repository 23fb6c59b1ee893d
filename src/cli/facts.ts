import type { Ctx } from './context.js';
import type { Catalog } from '../core/playbooks.js';
import type { Fact } from '../core/playbook-schema.js';

/** The questions `decide` asks for facts it lacks, each answered by the flag it names. */
export const FACT_FLAGS: Record<Fact, { flag: string; question: string; what: string }> = {
  vendor: { flag: '--vendor', question: 'Which vendor?', what: 'vendor' },
  vault_key: {
    flag: '--vault-key',
    question: 'Which vault key? (its id, e.g. vk_id_…; never the secret)',
    what: 'vault key id',
  },
  upstream_key: {
    flag: '--upstream-key',
    question: 'Which production key? (its id at the proxy)',
    what: 'production key id',
  },
  agent: { flag: '--agent', question: 'Which agent? (its id)', what: 'agent id' },
};

export function askVendor(ctx: Ctx, catalog: Catalog): Promise<string> {
  return ctx.prompt.select({
    message: FACT_FLAGS.vendor.question,
    flag: '--vendor',
    what: 'vendor',
    choices: [...catalog.vendors.values()].map((v) => ({ name: v.title, value: v.id })),
  });
}

export async function askFact(ctx: Ctx, catalog: Catalog, fact: Fact): Promise<string> {
  if (fact === 'vendor') return askVendor(ctx, catalog);
  const f = FACT_FLAGS[fact];
  return ctx.prompt.input({
    message: f.question,
    flag: f.flag,
    what: f.what,
    validate: (v) => (v.trim() ? true : 'required'),
  });
}
