import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer, type Recorded } from '../../src/sandbox/agent-platforms/server.js';
import { createVendorAdapter } from '../../src/vendors/index.js';

/**
 * accounts.twilio.com's AuthTokens API, as documented: POST /v1/AuthTokens/Secondary (201,
 * secondary_auth_token), POST /v1/AuthTokens/Promote (200; the secondary becomes the primary and
 * the old primary stops working), DELETE /v1/AuthTokens/Secondary (204; 404 when there is none).
 * Basic auth with the account SID and the current primary token.
 */
const SID = 'AC0123456789abcdef0123456789abcdef';
let fake: FakeServer;
const state = { primary: 'primary_token_0123456789abcdef', secondary: null as string | null };

beforeEach(async () => {
  state.primary = 'primary_token_0123456789abcdef';
  state.secondary = null;
  const authed = (req: Recorded) =>
    req.headers.authorization === `Basic ${Buffer.from(`${SID}:${state.primary}`).toString('base64')}`;
  const denied = { status: 401, json: { code: 20003, message: 'Authenticate', status: 401 } };
  const view = () => ({
    account_sid: SID,
    date_created: new Date().toUTCString(),
    date_updated: new Date().toUTCString(),
    url: 'https://accounts.twilio.com/v1/AuthTokens/Secondary',
  });
  fake = await startFakeServer([
    {
      method: 'POST',
      pattern: /^\/v1\/AuthTokens\/Secondary$/,
      handle: (r) =>
        authed(r)
          ? ((state.secondary = 'secondary_token_fedcba9876543210'),
            { status: 201, json: { ...view(), secondary_auth_token: state.secondary } })
          : denied,
    },
    {
      method: 'POST',
      pattern: /^\/v1\/AuthTokens\/Promote$/,
      handle: (r) => {
        if (!authed(r)) return denied;
        if (!state.secondary)
          return { status: 400, json: { code: 20001, message: 'No secondary auth token', status: 400 } };
        state.primary = state.secondary;
        state.secondary = null;
        return { status: 200, json: { ...view(), auth_token: state.primary } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/v1\/AuthTokens\/Secondary$/,
      handle: (r) =>
        !authed(r)
          ? denied
          : state.secondary
            ? ((state.secondary = null), { status: 204 })
            : { status: 404, json: { code: 20404, message: 'not found', status: 404 } },
    },
  ]);
});
afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  await fake.close();
});

describe('Twilio auth-token rotation (secondary, then promote)', () => {
  it('creates a secondary token, promotes it, and never hands back a secret unregistered', async () => {
    const seen: string[] = [];
    const adapter = createVendorAdapter('twilio', {
      config: { accountSid: SID, accountsBaseUrl: fake.url },
      adminKey: state.primary,
      onSecret: (s) => seen.push(s),
    });
    const secondary = await adapter.authToken!.createSecondary();
    expect(secondary.id).toBe('secondary');
    expect(secondary.hint).not.toContain(secondary.secret);
    expect(seen).toContain(secondary.secret);
    const promoted = await adapter.authToken!.promote();
    expect(promoted.status).toBe('promoted');
    expect(state.primary).toBe(secondary.secret);
    // The old primary no longer authenticates: the adapter built on it is refused (exit 3).
    expect((await adapter.authToken!.deleteSecondary().catch((e) => e)).exitCode).toBe(3);
    const fresh = createVendorAdapter('twilio', {
      config: { accountSid: SID, accountsBaseUrl: fake.url },
      adminKey: secondary.secret,
    });
    expect(await fresh.authToken!.deleteSecondary()).toEqual({ status: 'not-found', id: 'secondary' });
  });
});
