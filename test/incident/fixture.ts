import { startStage, type DemoStage } from '../../src/core/demo/stage.js';
import { startRefundAgent, type RefundAgent } from '../../src/demo/refund-agent.js';
import { isolatedEnv } from '../helpers/cli.js';
import { pollUntil } from '../helpers/poll.js';

/**
 * Given a proxy in front of the sandbox Stripe (the demo's stage: embedded store in a temp
 * dir, a refund agent's vault key with an hour of baseline, two other consumers), and the
 * agent running away through it.
 */
export interface Fixture {
  stage: DemoStage;
  agent: RefundAgent;
  env: Record<string, string | undefined>;
  stop(): Promise<void>;
}

export async function startFixture(opts: { intervalMs?: number; warmupCalls?: number } = {}): Promise<Fixture> {
  const stage = await startStage({ timeScale: 0.001, tailMode: 'median' });
  const agent = startRefundAgent({
    key: stage.agentKey.secret,
    baseUrl: stage.proxy.dataUrl,
    intervalMs: opts.intervalMs ?? 20,
    targets: stage.targets,
  });
  // Running away: enough calls that its rate is far above its baseline.
  await pollUntil('the agent to run away', () => agent.calls.length >= (opts.warmupCalls ?? 30), { timeoutMs: 20_000 });
  const env = { ...isolatedEnv(), ...stage.env };
  return {
    stage,
    agent,
    env,
    stop: async () => {
      await agent.stop();
      await stage.stop();
    },
  };
}
