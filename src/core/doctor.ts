import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings } from './config.js';
import type { HttpClient } from './http.js';
import type { ProxyAdapter } from '../adapters/proxy/types.js';
import { proxyOverview } from './incident/overview.js';
import { runDrill } from './drill.js';
import { GET_A_PROXY } from './first-run.js';
import { expectRoute } from '../adapters/proxy/schemas.js';
import type { AuditRow } from '../adapters/proxy/answers.js';
import { TourniquetError } from './errors.js';

/**
 * The readiness check of seed 002's "what you set up in calm hours": config, credentials and
 * connectivity; one vault key per agent or per run; the four forensic audit columns; a revoke
 * that takes effect on the next request (a small drill); a rate monitor. Pass or fail per item,
 * with the fix.
 */
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** A skip that is no gap: the operator turned it off (--no-drill), or it does not apply to this setup. */
  not_applicable?: boolean;
  /** The error kind behind a failure, when one was thrown (`auth`: our credentials were refused). */
  error_kind?: string;
}

export interface DoctorDeps {
  settings: Settings;
  /** Opening the adapter reads the admin token: a failure here is the credentials check. */
  proxy: () => Promise<ProxyAdapter>;
  admin: () => Promise<HttpClient | undefined>;
  drill: boolean;
  vendor: string;
  /** The team's own audit table, when audit_source names one; undefined when it is the proxy. */
  auditSource?: () => Promise<Check | undefined>;
}

export const FORENSIC_COLUMNS = ['policy_verdict', 'cost_usd_parsed', 'customer_scope_id', 'agent_run_id'] as const;

const pass = (id: string, title: string, detail: string): Check => ({ id, title, status: 'pass', detail });
const fail = (id: string, title: string, detail: string, fix: string): Check => ({
  id,
  title,
  status: 'fail',
  detail,
  fix,
});
const skip = (id: string, title: string, why: string): Check => ({ id, title, status: 'skip', detail: why });
const notApplicable = (id: string, title: string, why: string): Check => ({
  id,
  title,
  status: 'skip',
  detail: why,
  not_applicable: true,
});

/** Every item doctor checks, in order, each listed with its state whatever happens to the others. */
export const ITEMS: Array<[id: string, title: string]> = [
  ['config', 'config: proxy URL and state directory'],
  ['credentials', 'credentials: the admin token is accepted'],
  ['connectivity', 'connectivity: every proxy instance answers'],
  ['key-per-agent', 'one vault key per agent or per run, not one per organisation'],
  ['audit-columns', 'audit rows carry the four forensic columns'],
  ['audit-source', "the team's own audit table has the four forensic columns, filled"],
  ['revoke', 'a revoke takes effect on the next request (a small drill)'],
  ['rate-monitor', 'a monitor on calls per minute per key (alert at 5x baseline)'],
];
const title = (id: string) => ITEMS.find(([i]) => i === id)![1];

export function checkConfig(settings: Settings): Check {
  const t = 'config: proxy URL and state directory';
  const url = settings.get('proxy_url');
  if (!url)
    return fail(
      'config',
      t,
      'no proxy_url',
      `tourniquet config set proxy_url https://proxy-admin.internal (or TOURNIQUET_PROXY_URL); ${GET_A_PROXY}`,
    );
  const dir = settings.get('state_dir')!;
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.doctor-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    return fail(
      'config',
      t,
      `the state directory ${dir} is not writable: ${(err as Error).message}`,
      'set TOURNIQUET_STATE_DIR to a writable directory; incidents and their journals live there',
    );
  }
  return pass('config', t, `proxy ${url} (${settings.get('proxy_kind') ?? 'tourniquet'}), state in ${dir}`);
}

async function checkCredentials(deps: DoctorDeps): Promise<{ check: Check; proxy?: ProxyAdapter }> {
  const t = 'credentials: the admin token is accepted';
  try {
    const proxy = await deps.proxy();
    await proxy.listVaultKeys({ status: 'active' });
    return { check: pass('credentials', t, 'the proxy admin API answered with our token'), proxy };
  } catch (err) {
    const check = fail(
      'credentials',
      t,
      (err as Error).message,
      'set TOURNIQUET_ADMIN_TOKEN_FILE to a file holding the admin token (or: tourniquet config set admin_token_file PATH)',
    );
    return { check: { ...check, ...kindOf(err) } };
  }
}

async function checkConnectivity(proxy: ProxyAdapter): Promise<Check> {
  const t = 'connectivity: every proxy instance answers';
  const o = await proxyOverview(proxy, 2000);
  const down = o.instances.filter((i) => !i.healthy && !i.untrusted).map((i) => i.instance_id);
  const untrusted = o.instances.filter((i) => i.untrusted).map((i) => `${i.instance_id} (${i.untrusted})`);
  if (o.instances.length === 0)
    return fail(
      'connectivity',
      t,
      'the proxy reported no instances',
      'check the proxy is running: tourniquet proxy serve',
    );
  if (untrusted.length)
    return fail(
      'connectivity',
      t,
      `not trusted, so not asked: ${untrusted.join(', ')}`,
      'if these are yours, list them: tourniquet config set trusted_instances "https://proxy-*.internal:8788"; if not, someone can write to the proxy\'s instance registry',
    );
  if (down.length)
    return fail(
      'connectivity',
      t,
      `${o.healthy} of ${o.instances.length} healthy; not answering: ${down.join(', ')}`,
      'restart or remove the instances that do not answer; a revoke cannot be verified on them',
    );
  return pass(
    'connectivity',
    t,
    `${o.healthy} of ${o.instances.length} instance${o.instances.length === 1 ? '' : 's'} healthy`,
  );
}

export async function checkKeyPerAgent(proxy: ProxyAdapter): Promise<Check> {
  const t = 'one vault key per agent or per run, not one per organisation';
  const keys = await proxy.listVaultKeys({ status: 'active' });
  if (keys.length === 0)
    return fail(
      'key-per-agent',
      t,
      'no active vault keys: agents hold production keys directly',
      'issue one per agent run: tourniquet issue --vendor stripe --run RUN_ID --agent NAME --expires-in 2h',
    );
  const labels = (k: (typeof keys)[number]) => (k.policy.labels ?? {}) as Record<string, string>;
  const anonymous = keys.filter((k) => !k.agent_run_id && !labels(k).agent);
  if (anonymous.length)
    return fail(
      'key-per-agent',
      t,
      `${anonymous.length} of ${keys.length} active keys name no agent and no run (${anonymous
        .slice(0, 3)
        .map((k) => k.id)
        .join(', ')}${anonymous.length > 3 ? ', …' : ''}): shared keys turn a revoke into an outage`,
      'roll each shared key into one key per agent (tourniquet issue --agent NAME) and label them; then revoke the shared one',
    );
  const perRun = keys.filter((k) => k.agent_run_id).length;
  return pass('key-per-agent', t, `${keys.length} active keys, each for one agent (${perRun} per run)`);
}

export async function checkAuditColumns(admin: HttpClient): Promise<Check> {
  const t = 'audit rows carry the four forensic columns';
  // Recent traffic is what the next incident will be read from: the last 15 minutes, else the last day.
  let rows: readonly AuditRow[] = [];
  for (const minutes of [15, 24 * 60]) {
    const res = await admin.get('/v1/audit', {
      query: { limit: 500, verdict: 'allowed', from: new Date(Date.now() - minutes * 60_000).toISOString() },
      expect: expectRoute('GET /v1/audit'),
    });
    rows = res.body.data;
    if (rows.length) break;
  }
  if (rows.length === 0)
    return pass('audit-columns', t, `no allowed calls yet; the proxy's audit table has ${FORENSIC_COLUMNS.join(', ')}`);
  const missing = FORENSIC_COLUMNS.filter((c) => !rows.every((r) => c in r));
  if (missing.length)
    return fail(
      'audit-columns',
      t,
      `missing: ${missing.join(', ')}`,
      'upgrade the proxy; every audit row needs policy_verdict, cost_usd_parsed, customer_scope_id, agent_run_id',
    );
  const empty = FORENSIC_COLUMNS.filter((c) => rows.every((r) => r[c] === null || r[c] === undefined));
  if (empty.length)
    return fail(
      'audit-columns',
      t,
      `never filled in the last ${rows.length} allowed calls: ${empty.join(', ')}`,
      `${empty.includes('customer_scope_id') ? 'set customer_id_path on the vault keys (e.g. header.x-customer-id); ' : ''}${empty.includes('agent_run_id') ? 'issue keys per run (tourniquet issue --run RUN_ID)' : ''}`.trim(),
    );
  return pass('audit-columns', t, `all four filled in the last ${rows.length} allowed calls`);
}

async function checkRevoke(proxy: ProxyAdapter, vendor: string): Promise<Check> {
  const t = 'a revoke takes effect on the next request (a small drill)';
  const r = await runDrill(proxy, { vendor, ratePerS: 50, warmupMs: 200, observeMs: 300 });
  const never = r.instances.filter((i) => i.time_to_refusal_ms === null).map((i) => i.instance_id);
  if (never.length || r.leaked_calls > 0)
    return fail(
      'revoke',
      t,
      never.length
        ? `never refused on ${never.join(', ')}`
        : `${r.leaked_calls} calls got past the key after the revoke returned`,
      'the proxy must update memory and its store before answering the revoke; see tourniquet drill for details',
    );
  return pass(
    'revoke',
    t,
    `refused on ${r.instances.length} instance(s) within ${r.max_time_to_refusal_ms} ms of the revoke returning; 0 calls leaked`,
  );
}

async function checkRateMonitor(admin: HttpClient, settings: Settings): Promise<Check> {
  const t = 'a monitor on calls per minute per key (alert at 5x baseline)';
  await admin.get('/v1/rates', { expect: expectRoute('GET /v1/rates') });
  if (!settings.get('webhook_url'))
    return fail(
      'rate-monitor',
      t,
      'the proxy serves live rates, but no alert goes anywhere (no webhook_url)',
      'set webhook_url, then run from cron every minute: tourniquet watch --once --notify',
    );
  return pass('rate-monitor', t, 'live rates at the proxy; alerts go to the webhook_url (tourniquet watch --notify)');
}

const kindOf = (err: unknown) => (err instanceof TourniquetError ? { error_kind: err.kind } : {});

async function guarded(id: string, title: string, fn: () => Promise<Check>): Promise<Check> {
  try {
    return await fn();
  } catch (err) {
    return {
      ...fail(id, title, (err as Error).message, 'see the message; run with --debug for the HTTP calls'),
      ...kindOf(err),
    };
  }
}

export async function runDoctor(deps: DoctorDeps): Promise<Check[]> {
  const config = checkConfig(deps.settings);
  if (config.status === 'fail')
    return [
      config,
      ...ITEMS.slice(1).map(([id]) => skip(id, title(id), 'needs config: a proxy URL and a writable state directory')),
    ];
  const cred = await checkCredentials(deps);
  const proxy = cred.proxy;
  const admin = proxy ? await deps.admin() : undefined;
  const needs = (id: string, ok: unknown, fn: () => Promise<Check>) =>
    ok ? guarded(id, title(id), fn) : Promise.resolve(skip(id, title(id), 'needs working credentials to our proxy'));
  const checks = [config, cred.check];
  checks.push(await needs('connectivity', proxy, () => checkConnectivity(proxy!)));
  checks.push(await needs('key-per-agent', proxy, () => checkKeyPerAgent(proxy!)));
  checks.push(await needs('audit-columns', admin, () => checkAuditColumns(admin!)));
  checks.push(
    (await deps.auditSource?.()) ??
      notApplicable(
        'audit-source',
        title('audit-source'),
        "no audit_source of its own: incidents read the proxy's table, checked above",
      ),
  );
  if (!deps.drill)
    checks.push(notApplicable('revoke', title('revoke'), 'skipped: --no-drill (tourniquet drill runs it on its own)'));
  else if (proxy && proxy.kind !== 'tourniquet')
    checks.push(
      skip(
        'revoke',
        title('revoke'),
        `the ${proxy.kind} proxy cannot be drilled from here: run a drill against it by hand, or tourniquet drill --sandbox`,
      ),
    );
  else checks.push(await needs('revoke', proxy, () => checkRevoke(proxy!, deps.vendor)));
  checks.push(await needs('rate-monitor', admin, () => checkRateMonitor(admin!, deps.settings)));
  return checks;
}

/** Ready: every item that applies passed (a skip for a missing prerequisite is not a pass). */
export const isReady = (checks: readonly Check[]) =>
  checks.every((c) => c.status === 'pass' || c.not_applicable === true);
