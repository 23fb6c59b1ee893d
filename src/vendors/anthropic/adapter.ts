import type { AdapterDeps } from '../shared/adapter.js';
import { guidedAdapter } from '../shared/guided.js';
import type { VendorAdapter } from '../types.js';
import { anthropicFacts } from './facts.js';

/** Anthropic keys are made and deleted in the Console (guided); a key is proven with a one-model read. */
export function anthropicAdapter(deps: AdapterDeps): VendorAdapter {
  return guidedAdapter(anthropicFacts, deps, {
    dashboard: 'https://console.anthropic.com/settings/keys',
    probe: 'list one model',
    create: 'create an API key in the Console',
    delete: 'delete the old key in the Console',
  });
}
