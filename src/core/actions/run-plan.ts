import {
  AgentAccountsPlatform,
  AgentsApiPlatform,
  platformRefs,
  readPlatformKey,
  type AgentPlatformId,
} from '../../adapters/agents/index.js';
import { isVendorId } from '../../vendors/index.js';
import type { RevokeOutcome } from '../../adapters/proxy/types.js';
import type { PlanStep } from '../decide.js';
import { TourniquetError } from '../errors.js';
import { manualStep } from '../steps/manual.js';
import type { SecretRegistry } from '../secrets.js';
import type { Step, StepEnv } from '../steps/types.js';
import { revokeSteps } from './revoke.js';
import { issueSpec, type IssueFlags } from './issue.js';
import { rotatePlan, type RotateInput } from './plans.js';
import { rotateAtVendorSteps } from './rotate-at-vendor.js';
import type { Session } from './session.js';
import { usd } from '../money.js';

/**
 * `tourniquet run`: a plan from `decide` (kept in the journal's `started` entry) turned into
 * executable steps. One plan step may expand into several engine steps (a rotation); each gets
 * a key prefixed by its position, so resume matches them. A kind whose adapter is missing
 * fails clearly; nothing is reported done that was not done.
 */
export interface RunParams {
  scenario: string;
  plan_steps: PlanStep[];
  rotate: Omit<RotateInput, 'vendor'>;
  verifyTimeoutMs: number;
  /** Policy for an `issue-vault-key` step (wrapping a raw key); without it the step is manual. */
  issue?: Omit<IssueFlags, 'vendor'>;
}

const prefixed = (i: number, steps: Step[]): Step[] => steps.map((s) => ({ ...s, key: `${i + 1}.${s.key}` }));

function manual(i: number, ps: PlanStep, instruction: string): Step {
  return {
    key: `${i + 1}.manual:${ps.kind}`,
    title: instruction,
    kind: ps.kind,
    target: ps.target,
    calls: () => ['(a person does this; tourniquet asks for confirmation)'],
    async run(env) {
      env.log(`manual step: ${instruction}`);
      if (ps.reason && !instruction.startsWith(ps.reason)) env.log(`  why: ${ps.reason}`);
      return manualStep(env, instruction, `Done: ${instruction}?`, 'confirmed by the operator');
    },
  };
}

/** Vault keys an earlier step of this run revoked: what `reissue-vault-keys` rolls. */
function revokedSoFar(env: StepEnv): string[] {
  const ids = new Set<string>();
  for (const [k, v] of Object.entries(env.state))
    if (k.endsWith('.outcomes'))
      for (const o of v as RevokeOutcome[]) if (o.status !== 'not-found') ids.add(o.vault_key_id);
  return [...ids];
}

function reissueStep(i: number, ps: PlanStep, session: Session): Step {
  return {
    key: `${i + 1}.reissue`,
    title: 're-issue the revoked vault keys with the same policy (new secrets)',
    kind: ps.kind,
    target: ps.target,
    calls: () => ['POST <proxy>/v1/vault-keys/{each revoked id}/roll'],
    async run(env) {
      const proxy = await session.proxy();
      const key = `${i + 1}.reissue`;
      // Keys an interrupted attempt re-issued: their secrets died with it, so nobody can use
      // them. Revoke them and re-issue again rather than leave live keys nobody holds.
      for (const note of env.leftovers(key)) await proxy.revokeVaultKey(String(note.vault_key_id), { hard: false });
      const ids = revokedSoFar(env);
      const rolled: Record<string, string> = {};
      for (const id of ids) {
        const k = await proxy.rollVaultKey(id, { revokeOld: false });
        env.record('note', { message: `re-issued ${id} as ${k.id}`, leftover_of: key, vault_key_id: k.id });
        env.secrets.set(`reissued:${k.id}`, k.secret);
        rolled[id] = k.id;
      }
      return {
        status: ids.length ? 'done' : 'skipped',
        detail: ids.length
          ? `${ids.length} re-issued: ${Object.values(rolled).join(', ')} (secrets printed once at the end)`
          : 'no revoked vault keys to re-issue',
        outputs: { reissued: rolled },
      };
    },
  };
}

function agentStep(
  i: number,
  ps: PlanStep,
  session: Session,
  action: 'disabled' | 'archived' | 'delete' | 'deactivate',
): Step {
  const platform: AgentPlatformId = action === 'deactivate' ? 'agents-api' : 'accounts';
  return {
    key: `${i + 1}.${ps.kind}:${ps.target}`,
    title: `${ps.kind.replace('agent-', '')} agent ${ps.target}`,
    kind: ps.kind,
    target: ps.target,
    calls: () => [
      `${action === 'delete' ? 'DELETE' : action === 'deactivate' ? 'PATCH' : 'POST'} <${platform}>/agents/${ps.target}`,
    ],
    async run() {
      const s = session.settings;
      const i2 = session.input;
      const refs = platformRefs(platform, {}, s, i2.env);
      const adminKey = await readPlatformKey(platform, refs.adminKeyRef, { env: i2.env, stdin: i2.stdin });
      i2.register(adminKey);
      const cfg = { baseUrl: refs.baseUrl, adminKey, trace: session.recorder.trace, onSecret: i2.register };
      const out =
        action === 'deactivate'
          ? await new AgentsApiPlatform(cfg).deactivate(ps.target)
          : action === 'delete'
            ? await new AgentAccountsPlatform(cfg).delete(ps.target)
            : await new AgentAccountsPlatform(cfg).setStatus(ps.target, action);
      return {
        status: out.status.startsWith('already') ? 'already-done' : 'done',
        detail: out.status,
        outputs: { [`${ps.kind}:${ps.target}.verified`]: out.verified },
      };
    },
    verify(env) {
      const ok = env.state[`${ps.kind}:${ps.target}.verified`] === true;
      return { ok, detail: ok ? 'the platform shows the change' : 'the platform does not show the change' };
    },
    verificationIsSecurity: true,
  };
}

/** Wrap a raw key: a constrained vault key for the vendor; its secret is shown once at the end. */
function issueStep(i: number, ps: PlanStep, session: Session, flags: Omit<IssueFlags, 'vendor'>): Step {
  const spec = issueSpec({ ...flags, vendor: ps.target });
  return {
    key: `${i + 1}.issue:${ps.target}`,
    title: `issue a constrained ${ps.target} vault key (${describeSpec(spec)})`,
    kind: ps.kind,
    target: ps.target,
    calls: () => [`POST <proxy>/v1/vault-keys ${JSON.stringify(spec)}`],
    async run(env) {
      const key = `${i + 1}.issue:${ps.target}`;
      const proxy = await session.proxy();
      // A key an interrupted attempt issued has a secret nobody saw: revoke it before issuing again.
      for (const note of env.leftovers(key)) await proxy.revokeVaultKey(String(note.vault_key_id), { hard: false });
      const k = await proxy.issueVaultKey(spec);
      env.record('note', { message: `issued ${k.id}`, leftover_of: key, vault_key_id: k.id });
      env.secrets.set(`reissued:${k.id}`, k.secret);
      return {
        status: 'done',
        detail: `issued ${k.id}${k.expires_at ? `, expires ${k.expires_at}` : ''} (secret printed once at the end)`,
        outputs: { [`${key}.vault_key_id`]: k.id },
      };
    },
  };
}

function describeSpec(spec: ReturnType<typeof issueSpec>): string {
  const parts = [
    spec.allowed_endpoints?.length ? `${spec.allowed_endpoints.length} endpoint(s)` : 'all endpoints',
    spec.daily_usd_cap !== undefined ? `$${spec.daily_usd_cap}/day` : null,
    spec.per_call_amount_cap !== undefined ? `$${spec.per_call_amount_cap}/call` : null,
    spec.calls_per_minute !== undefined ? `${spec.calls_per_minute}/min` : null,
    spec.expires_in ? `expires in ${spec.expires_in}` : 'no expiry',
  ];
  return parts.filter(Boolean).join(', ');
}

function damageStep(i: number, ps: PlanStep, session: Session): Step {
  return {
    key: `${i + 1}.damage`,
    title: 'damage summary from the audit rows',
    kind: ps.kind,
    readOnly: true,
    target: ps.target,
    calls: () => ['GET <proxy>/v1/audit/summary (or the configured audit source)'],
    async run(env) {
      const [{ auditSourceFromFlags }, { computeDamage, buildQuery }] = await Promise.all([
        import('../damage/resolve.js'),
        import('../damage/damage.js'),
      ]);
      const i2 = session.input;
      const secrets = { add: i2.register, scrub: i2.scrub } as unknown as SecretRegistry;
      const source = await auditSourceFromFlags({}, session.settings, {
        env: i2.env,
        stdin: i2.stdin,
        secrets,
        trace: session.recorder.trace,
      });
      const vaultKey = ps.target && !ps.target.startsWith('<') && ps.target.startsWith('vk') ? ps.target : undefined;
      const d = await computeDamage(source, buildQuery({ since: '24h', vaultKey }, Date.now()), env.signal);
      return {
        status: 'done',
        detail: `${d.calls_allowed} calls allowed of ${d.calls_total}, ${usd(d.cost_usd)}, ${d.customers.length} customer(s)`,
        outputs: {
          damage: {
            calls_total: d.calls_total,
            calls_allowed: d.calls_allowed,
            cost_usd: d.cost_usd,
            customers: d.customers.length,
          },
        },
      };
    },
  };
}

async function stepsFor(i: number, ps: PlanStep, session: Session, p: RunParams): Promise<Step[]> {
  switch (ps.kind) {
    case 'revoke-vault-key':
      return prefixed(
        i,
        revokeSteps(
          { ids: [ps.target], hard: false, verifyTimeoutMs: p.verifyTimeoutMs },
          { proxy: await session.proxy() },
        ),
      );
    case 'revoke-all-under': {
      const filter = isVendorId(ps.target) ? { vendor: ps.target } : { allUnder: ps.target };
      return prefixed(
        i,
        revokeSteps(
          { ids: [], hard: false, verifyTimeoutMs: p.verifyTimeoutMs, ...filter },
          { proxy: await session.proxy() },
        ),
      );
    }
    case 'rotate-via-proxy':
      return prefixed(i, await rotatePlan(session, { ...p.rotate, vendor: ps.target }));
    case 'rotate-at-vendor':
      return prefixed(i, await rotateAtVendorSteps(session, { ...p.rotate, vendor: ps.target }));
    case 'reissue-vault-keys':
      return [reissueStep(i, ps, session)];
    case 'damage-summary':
      return [damageStep(i, ps, session)];
    case 'agent-disable':
      return [agentStep(i, ps, session, 'disabled')];
    case 'agent-archive':
      return [agentStep(i, ps, session, 'archived')];
    case 'agent-delete':
      return [agentStep(i, ps, session, 'delete')];
    case 'agent-deactivate':
      return [agentStep(i, ps, session, 'deactivate')];
    case 'agent-create-replacement':
      return [
        manual(
          i,
          ps,
          `create the replacement agent: tourniquet agent create <name> --budget USD --out FILE (${ps.target})`,
        ),
      ];
    case 'rotate-dpop-key':
      return [
        manual(i, ps, `rotate the DPoP key: tourniquet agent rotate-dpop-key ${ps.target} --jwk-file NEW_PUBLIC_JWK`),
      ];
    case 'oauth-verify-inactive':
      return [
        manual(
          i,
          ps,
          `prove the tokens are dead: tourniquet oauth introspect --token-file FILE --expect-inactive (${ps.target})`,
        ),
      ];
    case 'issue-vault-key':
      if (p.issue) return [issueStep(i, ps, session, p.issue)];
      return [
        manual(
          i,
          ps,
          `issue the constrained vault key and swap it into the agent: tourniquet issue --vendor ${ps.target} --cap USD --endpoint "METHOD /path" --expires-in 45m --out FILE`,
        ),
      ];
    case 'manual':
      return [manual(i, ps, `${ps.reason} (${ps.target})`)];
    default:
      throw new TourniquetError('step-failed', `no executor for plan step kind "${String(ps.kind)}"`);
  }
}

export async function runPlanSteps(session: Session, params: Record<string, unknown>): Promise<Step[]> {
  const p = params as unknown as RunParams;
  const out: Step[] = [];
  for (const [i, ps] of p.plan_steps.entries()) out.push(...(await stepsFor(i, ps, session, p)));
  return out;
}
