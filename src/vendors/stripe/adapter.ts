import type { AdapterDeps } from '../shared/adapter.js';
import { guidedAdapter } from '../shared/guided.js';
import type { VendorAdapter } from '../types.js';
import { stripeFacts } from './facts.js';

/**
 * Stripe has no generally available API to create, roll or delete a secret key: creation and
 * deletion are guided (the exact Dashboard path). What we can do is prove a key works (or is
 * dead) with a one-row read.
 */
export function stripeAdapter(deps: AdapterDeps): VendorAdapter {
  return guidedAdapter(stripeFacts, deps, {
    dashboard: 'https://dashboard.stripe.com/apikeys',
    probe: 'list one customer',
    create: 'rotate the secret key in the Dashboard',
    delete: 'expire the old key in the Dashboard',
  });
}
