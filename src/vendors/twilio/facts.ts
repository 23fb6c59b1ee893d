import { requireField, type VendorFacts } from '../shared/facts.js';
import type { Tail } from '../../sandbox/keyring.js';

export const twilioFacts: VendorFacts = {
  id: 'twilio',
  displayName: 'Twilio',
  defaultBaseUrl: 'https://api.twilio.com',
  capabilities: { create: true, delete: true, verify: true },
  auth: 'basic',
  // The Keys API's sid pattern (twilio_api_v2010.json): the auth token has no id there.
  keyIdPattern: /^SK[0-9a-fA-F]{32}$/,
  // Standard API keys may not read the Account resource itself; a one-row Messages list they may.
  probePath: (cfg) =>
    `/2010-04-01/Accounts/${requireField(cfg.accountSid, 'twilio', 'account_sid')}/Messages.json?PageSize=1`,
};

/** Seed 002: a deleted key keeps working at the edge for this long (median, p95). */
export const twilioTail: Tail = { medianMs: 30_000, p95Ms: 120_000 };
