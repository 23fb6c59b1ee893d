import { join } from 'node:path';
import type { CommandInput } from './registry.js';
import { inertJson } from '../core/inert.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { parseSecretRef, readSecret } from '../core/secrets.js';
import { loadProxyConfig, parseUpstreamFlags } from '../proxy/config.js';
import { jsonLog } from '../proxy/log.js';
import { defaultStateDir } from '../core/config.js';
import { masterKeySourceFrom } from '../proxy/crypto/master-key-flags.js';
import { adminExposureWarning, checkDistinctListeners } from '../proxy/exposure.js';
import { scalarText } from '../core/json.js';

/** The single full-power token of `--admin-token-file` (or the environment), if one is given. */
async function singleToken(opts: Record<string, unknown>, ctx: Ctx): Promise<string | undefined> {
  const tokenRef = (opts.adminTokenFile as string | undefined) ?? ctx.io.env.TOURNIQUET_ADMIN_TOKEN_FILE;
  const token = tokenRef
    ? await readSecret(parseSecretRef(tokenRef), { env: ctx.io.env, stdin: ctx.io.stdin }, 'the admin token')
    : ctx.io.env.TOURNIQUET_ADMIN_TOKEN;
  if (token !== undefined && token.length < 16)
    throw usageError('the admin token is too short (16 characters at least)');
  if (token) ctx.secrets.add(token);
  return token;
}

/** `tourniquet proxy serve`: run the vault-key proxy until SIGINT/SIGTERM, then drain and flush; SIGHUP reloads tokens and the master key. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const listen = scalarText(opts.listen) ?? '127.0.0.1:8787';
  const adminListen = scalarText(opts.adminListen) ?? '127.0.0.1:8788';
  checkDistinctListeners(listen, adminListen);
  const adminToken = await singleToken(opts, ctx);
  const adminTokens = (opts.adminTokens as string | undefined) ?? ctx.io.env.TOURNIQUET_ADMIN_TOKENS;
  if (!adminToken && !adminTokens)
    throw usageError(
      'no admin token',
      'pass --admin-tokens FILE (named, scoped tokens; tourniquet proxy add-token makes them) or --admin-token-file FILE',
    );
  const masterKey = masterKeySourceFrom(opts, ctx.io.env);

  const config = opts.config
    ? await loadProxyConfig(scalarText(opts.config) ?? '', ctx.io.env)
    : { upstreams: {}, vendors: {}, upstreamKeys: [] };
  for (const k of config.upstreamKeys) ctx.secrets.add(k.secret);
  const upstreams = { ...config.upstreams, ...parseUpstreamFlags((opts.upstream as string[] | undefined) ?? []) };
  const maxBody = Number(opts.maxBodyBytes ?? 1 << 20);
  if (!Number.isInteger(maxBody) || maxBody < 1024)
    throw usageError('--max-body-bytes must be an integer of at least 1024');
  const exposed = adminExposureWarning(adminListen, opts.adminBehindTls === true);
  if (exposed) ctx.out.warn(exposed);

  const { startProxy } = await import('../proxy/server.js');
  const store = scalarText(opts.store) ?? 'sqlite:./tourniquet.db';
  // Revokes not yet in the store: next to a SQLite file by default; for a shared store, under the state directory.
  const stateDir = ctx.io.env.TOURNIQUET_STATE_DIR || defaultStateDir(ctx.io.env);
  const revokeJournal = opts.revokeJournal
    ? (scalarText(opts.revokeJournal) ?? '')
    : /^postgres(ql)?:/.test(store)
      ? join(stateDir, 'proxy-revokes')
      : undefined;
  const proxy = await startProxy({
    listen,
    adminListen,
    store,
    revokeJournal,
    adminToken,
    adminTokens,
    masterKey,
    metrics: opts.metrics !== false,
    adminBehindTls: opts.adminBehindTls === true,
    upstreams,
    vendors: config.vendors,
    upstreamKeys: config.upstreamKeys,
    log: jsonLog(
      (line) => ctx.io.stderr.write(line),
      (s) => ctx.secrets.scrub(s),
    ),
    maxBodyBytes: maxBody,
    // bin/tourniquet.js leaves 5 s after SIGTERM: finish in-flight calls well within that.
    shutdownGraceMs: 3_500,
  });
  const ready = { data_plane_url: proxy.dataUrl, admin_url: proxy.adminUrl, instance_id: proxy.instanceId };
  if (ctx.flags.json) ctx.out.data(inertJson(ready));
  else ctx.out.data(`data plane ${proxy.dataUrl}\nadmin API  ${proxy.adminUrl}\ninstance   ${proxy.instanceId}`);

  // SIGHUP: re-read the token file and the master key source; a bad new file keeps the old one.
  const onHup = () => void proxy.reload();
  process.on('SIGHUP', onHup);
  try {
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    process.off('SIGHUP', onHup);
  }
  ctx.out.info('stopping: finishing requests in flight and flushing the audit');
  await proxy.stop();
  return 0;
}
