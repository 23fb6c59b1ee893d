import { randomBytes } from 'node:crypto';
import { startAccountsFake, type AccountsFake } from './accounts.js';
import { startAgentsApiFake, type AgentsApiFake } from './agents-api.js';

export { startAccountsFake, type AccountsFake, type FakeAccount } from './accounts.js';
export { startAgentsApiFake, type AgentsApiFake, type FakeOAuthAgent } from './agents-api.js';
export { startFakeServer, type FakeServer, type Route, type Reply, type Recorded } from './server.js';

export interface AgentPlatforms {
  accounts: AccountsFake;
  agentsApi: AgentsApiFake;
  /** The admin key both fakes accept. */
  adminKey: string;
  /** The environment that points `tourniquet agent …` at these fakes (the key by reference). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Both agent platforms on loopback, for `tourniquet sandbox`, the demo and tests. */
export async function startAgentPlatforms(opts: { adminKey?: string } = {}): Promise<AgentPlatforms> {
  const adminKey = opts.adminKey ?? `sk_live_sandbox_${randomBytes(12).toString('hex')}`;
  const [accounts, agentsApi] = await Promise.all([startAccountsFake({ adminKey }), startAgentsApiFake({ adminKey })]);
  return {
    accounts,
    agentsApi,
    adminKey,
    env: {
      TOURNIQUET_AGENT_ACCOUNTS_URL: accounts.baseUrl,
      TOURNIQUET_AGENT_ACCOUNTS_KEY: adminKey,
      TOURNIQUET_AGENTS_API_URL: agentsApi.url,
      TOURNIQUET_AGENTS_API_KEY: adminKey,
      TOURNIQUET_OAUTH_ISSUER: agentsApi.url,
    },
    stop: async () => {
      await Promise.all([accounts.close(), agentsApi.close()]);
    },
  };
}
