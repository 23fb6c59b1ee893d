import type { Ctx } from './context.js';
import { jsonText } from '../core/json.js';
import type { CommandInput } from './registry.js';
// Not ./settings.js: that module also loads the playbook catalog (ajv, yaml), which these commands never need.
import { loadSettings } from '../core/config.js';
import { OAuthClient } from '../adapters/oauth/client.js';
import type { OAuthServerConfig, TokenTypeHint } from '../adapters/oauth/types.js';
import { EXIT_CODES, missingInput, usageError } from '../core/errors.js';
import { parseSecretRef, readSecret } from '../core/secrets.js';
import { oauthRefs } from '../adapters/oauth/settings.js';
import { githubReport } from './agent.js';

/**
 * `tourniquet oauth revoke|introspect`: the token comes from --token-file, piped stdin or a masked
 * prompt (never argv) and is never printed; the client secret is a reference. Revoke is verified
 * by introspection answering active:false, else exit 5.
 */
const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

function tokenHint(v: unknown): TokenTypeHint | undefined {
  if (v === undefined) return undefined;
  if (v === 'access_token' || v === 'refresh_token') return v;
  throw usageError('--token-type-hint is access_token or refresh_token');
}

/** --token-file FILE|-, else piped stdin, else the masked prompt (exit 2 naming --token-file when nobody can answer). */
async function readToken(opts: Record<string, unknown>, ctx: Ctx): Promise<string> {
  const io = { env: ctx.io.env, stdin: ctx.io.stdin };
  const file = str(opts.tokenFile);
  if (file) return readSecret(parseSecretRef(file === '-' ? '-' : `file:${file}`), io, 'the token');
  if (ctx.io.stdin.isTTY !== true)
    return readSecret({ from: 'stdin' }, io, 'the token').catch(() => {
      throw missingInput('--token-file', 'the token (stdin was empty)');
    });
  return ctx.prompt.password({ message: 'Token (input hidden):', flag: '--token-file', what: 'the token' });
}

export async function run({ name, opts }: CommandInput, ctx: Ctx): Promise<number> {
  if (name !== 'revoke' && name !== 'introspect') throw usageError(`unknown oauth action "${name}"`);
  const hint = tokenHint(opts.tokenTypeHint);
  const s = oauthRefs(opts, loadSettings(ctx.io.env, ctx.flags.profile), ctx.io.env);
  const cfg: OAuthServerConfig = { ...s, clientSecret: '', trace: ctx.trace };
  if (ctx.flags.dryRun) {
    const calls = new OAuthClient(cfg).plan(name);
    if (ctx.flags.json) ctx.out.json({ dry_run: true, action: name, calls });
    else ctx.out.data(calls.map((c) => `would call: ${c.method} ${c.url}   ${c.what}`).join('\n'));
    return 0;
  }
  cfg.clientSecret = await readSecret(
    parseSecretRef(s.secretRef),
    { env: ctx.io.env, stdin: ctx.io.stdin },
    `the client secret (${s.secretRef})`,
  );
  ctx.secrets.add(cfg.clientSecret);
  const token = await readToken(opts, ctx);
  ctx.secrets.add(token);
  const client = new OAuthClient(cfg);
  if (name === 'introspect') {
    const r = await client.introspect(token, hint);
    if (ctx.flags.json) ctx.out.json(r);
    else
      ctx.out.data(
        Object.entries(r)
          .map(([k, v]) => `${k}\t${jsonText(v)}`)
          .join('\n'),
      );
    return opts.expectInactive === true && r.active ? EXIT_CODES.verification : 0;
  }
  await ctx.prompt.confirm(
    'Revoke this token at the authorization server? The agent holding it is refused from now on.',
  );
  const r = await client.revoke(token, hint);
  githubReport(ctx, 'oauth revoke', r.verified, { ...r }, [token]);
  if (ctx.flags.json) ctx.out.json(r);
  else
    ctx.out.data(
      `token revoked at ${r.endpoint}\n${r.verified ? '  verified: introspection answers active:false' : `  NOT VERIFIED: ${r.unverified_reason ?? 'introspection still answers active:true'}`}`,
    );
  return r.verified ? 0 : EXIT_CODES.verification;
}
