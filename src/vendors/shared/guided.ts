import { usageError } from '../../core/errors.js';
import type { VendorAdapter } from '../types.js';
import { baseUrl, call, probeKey, type AdapterDeps } from './adapter.js';
import type { VendorFacts } from './facts.js';

export interface GuidedWords {
  /** The dashboard page where keys are made and deleted. */
  dashboard: string;
  /** What the probe does, in words (`list one customer`). */
  probe: string;
  create: string;
  delete: string;
}

/**
 * A vendor with no API to create or delete a secret key (Stripe, Anthropic, Gemini): both steps
 * are guided (the exact dashboard path, from the vendor's facts), the new key comes from a masked
 * prompt, --new-key-file or stdin, and the adapter proves a key works (or is dead) with a read.
 */
export function guidedAdapter(facts: VendorFacts, deps: AdapterDeps, words: GuidedWords): VendorAdapter {
  const base = baseUrl(facts, deps.config);
  const manual = facts.manual!;
  return {
    vendor: facts.id,
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => manual.create,
    createKey: () =>
      Promise.reject(usageError(`${facts.displayName} has no API to create a secret key`, manual.create.join('\n'))),
    deleteKey: (id) => Promise.resolve({ status: 'manual', id, steps: manual.delete }),
    probe: (key) => probeKey(facts, deps, key),
    plan(action) {
      if (action === 'probe')
        return [call(base, 'GET', facts.probePath(deps.config), `probe: ${words.probe} with the key`)];
      return [{ method: 'MANUAL', url: words.dashboard, what: action === 'create' ? words.create : words.delete }];
    },
  };
}
