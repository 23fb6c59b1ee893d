import { join } from 'node:path';
import type { CommandInput } from './registry.js';
import { inertJson } from '../core/inert.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { parseSecretRef, readSecret } from '../core/secrets.js';
import { loadProxyConfig, parseUpstreamFlags } from '../proxy/config.js';
import { jsonLog } from '../proxy/log.js';
import { defaultStateDir } from '../core/config.js';

/** `tourniquet proxy serve`: run the vault-key proxy until SIGINT/SIGTERM, then drain and flush. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const tokenRef = (opts.adminTokenFile as string | undefined) ?? ctx.io.env.TOURNIQUET_ADMIN_TOKEN_FILE;
  const adminToken = tokenRef
    ? await readSecret(parseSecretRef(tokenRef), { env: ctx.io.env, stdin: ctx.io.stdin }, 'the admin token')
    : ctx.io.env.TOURNIQUET_ADMIN_TOKEN;
  if (!adminToken) throw usageError('no admin token', 'pass --admin-token-file FILE (or set TOURNIQUET_ADMIN_TOKEN_FILE)');
  if (adminToken.length < 16) throw usageError('the admin token is too short (16 characters at least)');
  ctx.secrets.add(adminToken);

  const config = opts.config ? await loadProxyConfig(String(opts.config), ctx.io.env) : { upstreams: {}, vendors: {}, upstreamKeys: [] };
  for (const k of config.upstreamKeys) ctx.secrets.add(k.secret);
  const upstreams = { ...config.upstreams, ...parseUpstreamFlags((opts.upstream as string[] | undefined) ?? []) };
  const maxBody = Number(opts.maxBodyBytes ?? 1 << 20);
  if (!Number.isInteger(maxBody) || maxBody < 1024) throw usageError('--max-body-bytes must be an integer of at least 1024');

  const { startProxy } = await import('../proxy/server.js');
  const store = String(opts.store ?? 'sqlite:./tourniquet.db');
  // Revokes not yet in the store: next to a SQLite file by default; for a shared store, under the state directory.
  const stateDir = ctx.io.env.TOURNIQUET_STATE_DIR || defaultStateDir(ctx.io.env);
  const revokeJournal = opts.revokeJournal ? String(opts.revokeJournal) : /^postgres(ql)?:/.test(store) ? join(stateDir, 'proxy-revokes') : undefined;
  const proxy = await startProxy({
    listen: String(opts.listen ?? '127.0.0.1:8787'),
    adminListen: String(opts.adminListen ?? '127.0.0.1:8788'),
    store,
    revokeJournal,
    adminToken,
    upstreams,
    vendors: config.vendors,
    upstreamKeys: config.upstreamKeys,
    log: jsonLog((line) => ctx.io.stderr.write(line), (s) => ctx.secrets.scrub(s)),
    maxBodyBytes: maxBody,
    // bin/tourniquet.js leaves 5 s after SIGTERM: finish in-flight calls well within that.
    shutdownGraceMs: 3_500,
  });
  const ready = { data_plane_url: proxy.dataUrl, admin_url: proxy.adminUrl, instance_id: proxy.instanceId };
  if (ctx.flags.json) ctx.out.data(inertJson(ready));
  else ctx.out.data(`data plane ${proxy.dataUrl}\nadmin API  ${proxy.adminUrl}\ninstance   ${proxy.instanceId}`);

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.out.info('stopping: finishing requests in flight and flushing the audit');
  await proxy.stop();
  return 0;
}
