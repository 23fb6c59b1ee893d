import type { AdapterDeps } from '../shared/adapter.js';
import { guidedAdapter } from '../shared/guided.js';
import type { VendorAdapter } from '../types.js';
import { geminiFacts } from './facts.js';

/** Gemini keys are made and deleted in AI Studio / the Cloud console (guided); a key is proven with a one-model read. */
export function geminiAdapter(deps: AdapterDeps): VendorAdapter {
  return guidedAdapter(geminiFacts, deps, {
    dashboard: 'https://aistudio.google.com/apikey',
    probe: 'list one model',
    create: 'create an API key in Google AI Studio',
    delete: 'delete the old key in the Cloud console',
  });
}
