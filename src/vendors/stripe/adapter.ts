import { usageError } from '../../core/errors.js';
import { baseUrl, call, probeKey, type AdapterDeps } from '../shared/adapter.js';
import { stripeFacts } from './facts.js';
import type { VendorAdapter } from '../types.js';

const facts = stripeFacts;
const manual = facts.manual!;

/**
 * Stripe has no generally available API to create, roll or delete a secret key: creation and
 * deletion are guided (the exact Dashboard path), and the new key comes from a masked prompt,
 * --new-key-file or stdin. What we can do is prove a key works (or is dead) with a one-row read.
 */
export function stripeAdapter(deps: AdapterDeps): VendorAdapter {
  const base = baseUrl(facts, deps.config);
  return {
    vendor: 'stripe',
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => manual.create,
    async createKey() {
      throw usageError('Stripe has no API to create a secret key', manual.create.join('\n'));
    },
    async deleteKey(id) {
      return { status: 'manual', id, steps: manual.delete };
    },
    probe: (key) => probeKey(facts, deps, key),
    plan(action) {
      if (action === 'probe') return [call(base, 'GET', facts.probePath(deps.config), 'probe: list one customer with the key')];
      return [{ method: 'MANUAL', url: 'https://dashboard.stripe.com/apikeys', what: action === 'create' ? 'rotate the secret key in the Dashboard' : 'expire the old key in the Dashboard' }];
    },
  };
}
