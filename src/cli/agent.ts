import { rm, writeFile } from 'node:fs/promises';
import { inert } from '../core/inert.js';
import { jsonText } from '../core/json.js';
import type { Ctx } from './context.js';
import type { CommandInput } from './registry.js';
// Not ./settings.js: that module also loads the playbook catalog (ajv, yaml), which these commands never need.
import { loadSettings } from '../core/config.js';
import {
  AgentAccountsPlatform,
  AgentsApiPlatform,
  platformRefs,
  readPlatformKey,
  type AgentPlatformId,
  type CreatedAgent,
  type DeactivateOutcome,
  type DeleteOutcome,
  type DpopRotation,
  type PlannedCall,
  type StatusChange,
} from '../adapters/agents/index.js';
import { EXIT_CODES, TourniquetError, missingInput, usageError } from '../core/errors.js';
import { jwkThumbprint, parsePublicJwk, type PublicJwk } from '../core/jwk.js';
import { parseSecretRef, readSecret } from '../core/secrets.js';
import { appendSummary, isGithubActions, maskCommand } from '../render/github.js';
import { renderTable } from '../render/table.js';
import { OAuthClient } from '../adapters/oauth/client.js';
import { oauthRefs, type OAuthRefs } from '../adapters/oauth/settings.js';

/**
 * `tourniquet agent disable|archive|delete|create|deactivate|rotate-dpop-key`: one platform call,
 * verified by re-reading the agent (or, for the DPoP key, by checking the server's new_jkt against
 * our own RFC 7638 thumbprint). Exit 5 when the platform does not show what we asked for.
 */
type Action = 'disable' | 'archive' | 'delete' | 'create' | 'deactivate' | 'rotate-dpop-key';
const PLATFORM: Record<Action, AgentPlatformId> = {
  disable: 'accounts',
  archive: 'accounts',
  delete: 'accounts',
  create: 'accounts',
  deactivate: 'agents-api',
  'rotate-dpop-key': 'agents-api',
};

interface Parsed {
  action: Action;
  target: string;
  reason?: string;
  jwk?: PublicJwk;
  budget?: number;
  out?: string;
}

async function parse(action: Action, args: string[], opts: Record<string, unknown>, ctx: Ctx): Promise<Parsed> {
  // A missing agent id is asked for (a list to pick from) when someone is at the terminal.
  const target = args[0] ?? '';
  if (!target && (action === 'create' || !ctx.interactive || ctx.flags.dryRun))
    throw usageError(
      action === 'create' ? 'name the new agent' : 'name the agent id',
      `e.g. tourniquet agent ${action} ${action === 'create' ? 'research-agent-v2 --budget 10 --out key.txt' : 'agt_123'} (tourniquet agent list shows the ids)`,
    );
  const p: Parsed = { action, target, reason: opts.reason as string | undefined };
  if (action === 'rotate-dpop-key') {
    const file = opts.jwkFile as string | undefined;
    if (!file) throw missingInput('--jwk-file', 'the new public JWK');
    // Invalid input is exit 2 before any call is made.
    p.jwk = parsePublicJwk(
      await readSecret(
        parseSecretRef(file === '-' ? '-' : `file:${file}`),
        { env: ctx.io.env, stdin: ctx.io.stdin },
        'the JWK',
      ),
    );
  }
  if (action === 'create') {
    p.budget = Number(opts.budget);
    if (opts.budget === undefined || !Number.isFinite(p.budget) || p.budget <= 0)
      throw usageError('--budget takes a positive amount in USD', 'e.g. --budget 10');
    p.out = opts.out as string | undefined;
    if (!p.out)
      throw missingInput('--out', 'a file for the new agent key (written with mode 0600; the key is never printed)');
  }
  return p;
}

function confirmText(p: Parsed): string {
  const why = p.reason ? ` (reason: ${p.reason})` : '';
  switch (p.action) {
    case 'disable':
      return `Disable agent ${p.target}? Its next call is refused (402); calls in flight complete.${why}`;
    case 'archive':
      return `Archive agent ${p.target}? It stops for good; its history is kept.${why}`;
    case 'deactivate':
      return `Deactivate agent ${p.target}? Every token it holds is revoked and it can get no new ones.${why}`;
    case 'rotate-dpop-key':
      return `Rotate the DPoP key of agent ${p.target}? Tokens bound to the old key are revoked.${why}`;
    case 'create':
    case 'delete':
      return `${p.action} ${p.target}?`;
  }
}

async function confirm(p: Parsed, ctx: Ctx): Promise<void> {
  if (p.action === 'create') return;
  // Deleting is irreversible: the operator types the id.
  if (p.action === 'delete')
    return ctx.prompt.typeToConfirm(
      `Delete agent ${p.target}? This cannot be undone (archive keeps the history).`,
      p.target,
    );
  return ctx.prompt.confirm(confirmText(p));
}

function plan(p: Parsed, accounts: () => AgentAccountsPlatform, api: () => AgentsApiPlatform): PlannedCall[] {
  if (p.action === 'deactivate' || p.action === 'rotate-dpop-key') return api().plan(p.action, p.target);
  return accounts().plan(p.action, p.target);
}

/** What the platform did; `token_active` when the agent's token was checked afterwards. */
type Outcome = (
  | StatusChange
  | DeleteOutcome
  | DeactivateOutcome
  | DpopRotation
  | (Omit<CreatedAgent, 'secret'> & { key_file: string })
) & { token_active?: boolean };

async function act(
  p: Parsed,
  accounts: () => AgentAccountsPlatform,
  api: () => AgentsApiPlatform,
  newSecrets: string[],
): Promise<Outcome> {
  switch (p.action) {
    case 'disable':
      return accounts().setStatus(p.target, 'disabled');
    case 'archive':
      return accounts().setStatus(p.target, 'archived');
    case 'delete':
      return accounts().delete(p.target);
    case 'deactivate':
      return api().deactivate(p.target);
    case 'rotate-dpop-key':
      return { ...(await api().rotateDpopKey(p.target, p.jwk!, p.reason)) };
    case 'create': {
      // Claim the file first (fails if it exists or cannot be written), so a new key is never lost.
      await writeFile(p.out!, '', { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
        throw usageError(
          `cannot write the key to ${p.out}: ${err.code ?? err.message}`,
          'pass a new file path to --out (an existing file is never overwritten)',
        );
      });
      const made = await accounts()
        .create(p.target, p.budget!)
        .catch(async (err: unknown) => {
          await rm(p.out!, { force: true }); // nothing was created: give the path back
          throw err;
        });
      const { secret, ...report } = made;
      await writeFile(p.out!, secret + '\n', { mode: 0o600 });
      newSecrets.push(secret);
      return { ...report, key_file: p.out! };
    }
  }
}

function human(r: Outcome): string {
  const lines = [`agent ${r.agent_id}: ${r.status}`];
  if (r.status === 'rotated')
    lines.push(
      `  old_jkt ${r.old_jkt || '(none)'}`,
      `  new_jkt ${r.new_jkt}${r.verified ? ' (matches our RFC 7638 thumbprint)' : ` (EXPECTED ${r.expected_jkt})`}`,
      `  revoked tokens: ${r.revoked_token_count}   audit event: ${r.audit_event_id}`,
    );
  else if (r.status === 'created')
    lines.push(`  key ${r.key_hint} written to ${r.key_file} (mode 0600)   budget: $${r.budget}`);
  else if ('observed' in r) lines.push(`  platform now says: ${r.observed}`);
  else if ('observed_active' in r) lines.push(`  platform now says: active=${r.observed_active}`);
  if (r.token_active !== undefined) lines.push(`  the agent's token: introspection says active=${r.token_active}`);
  lines.push(r.verified ? '  verified' : '  NOT VERIFIED: the platform does not show the change');
  return lines.join('\n');
}

/** Read our client secret and the agent's token now, so bad input stops us before anything changes. */
async function prepareTokenCheck(
  refs: OAuthRefs,
  file: string,
  ctx: Ctx,
): Promise<{ client: OAuthClient; token: string }> {
  const io = { env: ctx.io.env, stdin: ctx.io.stdin };
  const clientSecret = await readSecret(
    parseSecretRef(refs.secretRef),
    io,
    `the OAuth client secret (${refs.secretRef})`,
  );
  ctx.secrets.add(clientSecret);
  const token = await readSecret(parseSecretRef(file === '-' ? '-' : `file:${file}`), io, 'the token to verify with');
  ctx.secrets.add(token);
  return { client: new OAuthClient({ ...refs, clientSecret, trace: ctx.trace }), token };
}

async function pickAgent(
  platform: AgentPlatformId,
  accounts: () => AgentAccountsPlatform,
  api: () => AgentsApiPlatform,
  ctx: Ctx,
): Promise<string> {
  const agents = platform === 'accounts' ? await accounts().list() : await api().list();
  if (agents.length === 0) throw new TourniquetError('not-found', 'the platform lists no agents');
  const state = (a: (typeof agents)[number]) => ('status' in a ? a.status : a.active ? 'active' : 'inactive');
  return ctx.prompt.search({
    message: 'Which agent?',
    flag: '<agent-id>',
    what: 'the agent id',
    choices: agents.map((a) => ({ name: `${a.id}  ${a.name ?? ''}  (${state(a)})`, value: a.id })),
  });
}

async function list(opts: Record<string, unknown>, ctx: Ctx): Promise<number> {
  const platform = (opts.platform ?? 'accounts') as AgentPlatformId;
  if (platform !== 'accounts' && platform !== 'agents-api') throw usageError('--platform is accounts or agents-api');
  const refs = platformRefs(
    platform,
    { baseUrl: opts.baseUrl as string | undefined, adminKey: opts.adminKey as string | undefined },
    loadSettings(ctx.io.env, ctx.flags.profile),
    ctx.io.env,
  );
  const adminKey = await readPlatformKey(platform, refs.adminKeyRef, { env: ctx.io.env, stdin: ctx.io.stdin });
  ctx.secrets.add(adminKey);
  const cfg = { baseUrl: refs.baseUrl, adminKey, trace: ctx.trace };
  const rows = (
    platform === 'accounts' ? await new AgentAccountsPlatform(cfg).list() : await new AgentsApiPlatform(cfg).list()
  ).map((a) => ({
    id: a.id,
    name: a.name ?? '',
    status: 'status' in a ? String(a.status) : a.active ? 'active' : 'inactive',
  }));
  if (ctx.flags.json) ctx.out.json({ platform, agents: rows });
  else
    ctx.out.data(
      rows.length
        ? renderTable(rows, [
            { header: 'ID', value: (r) => r.id },
            { header: 'NAME', value: (r) => r.name, max: 40 },
            { header: 'STATUS', value: (r) => r.status },
          ])
        : 'no agents',
    );
  return 0;
}

function printPlan(ctx: Ctx, p: Parsed, calls: PlannedCall[], extra: { expected_jkt?: string }): void {
  if (ctx.flags.json) return ctx.out.json({ dry_run: true, action: p.action, agent: p.target, ...extra, calls });
  const lines = calls.map((c) => `would call: ${c.method} ${c.url}   ${c.what}`);
  if (extra.expected_jkt) lines.push(`new key thumbprint (RFC 7638): ${extra.expected_jkt}`);
  ctx.out.data(lines.join('\n'));
}

export async function run({ name, args, opts }: CommandInput, ctx: Ctx): Promise<number> {
  if (name === 'list') return list(opts, ctx);
  const action = name as Action;
  if (!(action in PLATFORM)) throw usageError(`unknown agent action "${name}"`);
  const p = await parse(action, args, opts, ctx);
  const platform = PLATFORM[action];
  const settings = loadSettings(ctx.io.env, ctx.flags.profile);
  const refs = platformRefs(
    platform,
    { baseUrl: opts.baseUrl as string | undefined, adminKey: opts.adminKey as string | undefined },
    settings,
    ctx.io.env,
  );
  const cfg = { baseUrl: refs.baseUrl, adminKey: '', trace: ctx.trace, onSecret: (s: string) => ctx.secrets.add(s) };
  const accounts = () => new AgentAccountsPlatform(cfg);
  const api = () => new AgentsApiPlatform(cfg);
  const extra = p.jwk ? { expected_jkt: jwkThumbprint(p.jwk) } : {};
  // deactivate --verify-token-file: the AS defaults to the Agents API itself (seed 003 serves both).
  const tokenRefs =
    action === 'deactivate' && opts.verifyTokenFile ? oauthRefs({}, settings, ctx.io.env, refs.baseUrl) : undefined;
  if (ctx.flags.dryRun) {
    const calls = plan(p, accounts, api);
    if (tokenRefs)
      calls.push(
        ...new OAuthClient({ ...tokenRefs, clientSecret: '' }).plan('introspect').map((c) => ({
          ...c,
          what: `verify: a token the agent held is inactive (${c.what})`,
        })),
      );
    printPlan(ctx, p, calls, extra);
    return 0;
  }
  cfg.adminKey = await readPlatformKey(platform, refs.adminKeyRef, { env: ctx.io.env, stdin: ctx.io.stdin });
  ctx.secrets.add(cfg.adminKey);
  const tokenCheck = tokenRefs ? await prepareTokenCheck(tokenRefs, String(opts.verifyTokenFile), ctx) : undefined;
  p.target ||= await pickAgent(platform, accounts, api, ctx);
  await confirm(p, ctx);
  const newSecrets: string[] = [];
  const result = await act(p, accounts, api, newSecrets);
  if (tokenCheck) {
    const { active } = await tokenCheck.client.introspect(tokenCheck.token);
    Object.assign(result, { token_active: active, verified: result.verified && !active });
  }
  const report = { action, ...(p.reason ? { reason: p.reason } : {}), ...result };
  githubReport(ctx, `agent ${action} ${p.target}`, result.verified, report, newSecrets);
  if (ctx.flags.json) ctx.out.json(report);
  else ctx.out.data(human(result));
  return result.verified ? 0 : EXIT_CODES.verification;
}

/**
 * In GitHub Actions: mask the secrets this run learned (the runner reads workflow commands on
 * stderr too, so stdout stays pure data) and append a Markdown summary of the report.
 */
export function githubReport(
  ctx: Ctx,
  title: string,
  verified: boolean,
  report: Record<string, unknown>,
  secrets: string[],
): void {
  if (!isGithubActions(ctx.io.env)) return;
  for (const s of secrets) ctx.io.stderr.write(maskCommand(s));
  const cell = (v: unknown) => inert(jsonText(v)).replace(/\|/g, '\\|');
  const rows = Object.entries(report).map(([k, v]) => `| ${k} | ${cell(v)} |`);
  appendSummary(
    ctx.io.env,
    ctx.secrets.scrub(
      [
        `### tourniquet ${title}: ${verified ? '✅ verified' : '❌ NOT verified'}`,
        '',
        '| field | value |',
        '|---|---|',
        ...rows,
        '',
      ].join('\n'),
    ),
  );
}
