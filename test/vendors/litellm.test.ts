import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/core/http.js';
import { LiteLlmApiSource } from '../../src/core/damage/sources/litellm.js';
import { startLiteLlmFake, type LiteLlmFake, type SpendLog } from '../helpers/litellm-fake.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** LiteLLM's /spend/logs as its source answers it: per-day totals for a date range unless summarize=false. */
const MASTER = 'sk-litellm-master-abcdef0123456789';
const logs: SpendLog[] = [
  {
    request_id: 'r1',
    api_key: 'hashed1',
    startTime: '2026-11-21T02:14:00Z',
    endTime: '2026-11-21T02:14:01Z',
    spend: 1.5,
    model: 'gpt-4o',
    user: 'u',
    call_type: 'acompletion',
    metadata: { user_api_key_alias: 'vk_refund_agent', agent_run_id: 'run_7' },
  },
  {
    request_id: 'r2',
    api_key: 'hashed1',
    startTime: '2026-11-21T02:15:00Z',
    endTime: '2026-11-21T02:15:01Z',
    spend: 2.5,
    model: 'gpt-4o',
    user: 'u',
    call_type: 'acompletion',
    metadata: { user_api_key_alias: 'vk_other', agent_run_id: 'run_8' },
  },
];
const query = { from: Date.parse('2026-11-21T02:00:00Z'), to: Date.parse('2026-11-21T03:00:00Z') } as never;

describe('damage from a LiteLLM proxy', () => {
  let lite: LiteLlmFake;
  let old: TestServer;
  beforeAll(async () => {
    lite = await startLiteLlmFake(MASTER, logs);
    // A LiteLLM from before summarize existed: day totals whatever is asked.
    old = await startServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ startTime: '2026-11-21', spend: 4, users: { u: 4 }, models: { 'gpt-4o': 4 } }]));
    });
  });
  afterAll(async () => {
    await lite.close();
    await old.close();
  });

  const source = (url: string) =>
    new LiteLlmApiSource(
      new HttpClient({ baseUrl: url, name: 'LiteLLM', headers: { authorization: `Bearer ${MASTER}` } }),
    );

  it('asks for individual logs (summarize=false), so each call keeps its vault key and run', async () => {
    const agg = await source(lite.url).aggregate(query);
    expect(lite.requests.at(-1)!.url).toContain('summarize=false');
    expect([...agg.vault_keys.keys()].sort()).toEqual(['vk_other', 'vk_refund_agent']);
    expect([...agg.agent_runs.keys()].sort()).toEqual(['run_7', 'run_8']);
  });

  it('a LiteLLM that answers per-day totals anyway is an error that says so, never a summary with no attribution', async () => {
    const err = (await source(old.url)
      .aggregate(query)
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('per-day totals');
  });
});
