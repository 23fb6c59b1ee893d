import { describe, expect, it } from 'vitest';
import { requestUrl } from '../../src/proxy/request-info.js';

// The data plane skips the WHATWG URL parse for plain paths (issue 15). Whatever it skips, the
// path, query and search it sees must be exactly what the parse gives: policy and forwarding
// depend on them.
describe('requestUrl', () => {
  const cases = [
    '/v1/chat/completions',
    '/openai/v1/chat/completions',
    '/v1/customers/cus_123',
    '/',
    '//evil.example/v1/charges',
    '/v1/../admin',
    '/v1/./charges',
    '/v1//charges',
    '/v1/charges/',
    '/v1/charges?limit=3&key=vk_x',
    '/v1/a%20b',
    '/v1/a b',
    '/v1/é',
    '/v1\\charges',
    '/v1/charges#frag',
    '/v1/models/gemini-2.0-flash:generateContent',
    '/v1/x~y_z-1',
  ];
  it.each(cases)('%s: same pathname, search and query as new URL()', (raw) => {
    const want = new URL(raw, 'http://proxy.invalid');
    const got = requestUrl(raw);
    expect(got.pathname).toBe(want.pathname);
    expect(got.search).toBe(want.search);
    expect([...got.searchParams]).toEqual([...want.searchParams]);
  });
});
