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
import type { ProxyOptions } from '../proxy/server.js';
import { isProxyWorker, parseWorkerCount } from '../proxy/workers.js';

/** The single full-power token of `--admin-token-file` (or the environment), if one is given. */
async function singleToken(opts: Record<string, unknown>, ctx: Ctx, workers: number): Promise<string | undefined> {
  const tokenRef = (opts.adminTokenFile as string | undefined) ?? ctx.io.env.TOURNIQUET_ADMIN_TOKEN_FILE;
  if (tokenRef === '-' && workers > 1)
    throw usageError(
      'with --workers, the admin token cannot come from standard input: each worker reads it, and stdin is read once',
      'pass --admin-token-file FILE, or TOURNIQUET_ADMIN_TOKEN in the environment',
    );
  const token = tokenRef
    ? await readSecret(parseSecretRef(tokenRef), { env: ctx.io.env, stdin: ctx.io.stdin }, 'the admin token')
    : ctx.io.env.TOURNIQUET_ADMIN_TOKEN;
  if (token !== undefined && token.length < 16)
    throw usageError('the admin token is too short (16 characters at least)');
  if (token) ctx.secrets.add(token);
  return token;
}

const isPostgres = (store: string) => /^postgres(ql)?:\/\//.test(store);

/** Several workers are several proxy instances: they need a store they can share. */
function checkWorkersStore(workers: number, store: string): void {
  if (workers > 1 && !isPostgres(store))
    throw usageError(
      `--workers ${workers} needs a shared PostgreSQL store: each worker is a proxy instance of its own, and ${store.startsWith('sqlite:') || !store.includes(':') ? 'a SQLite file' : `"${store.split(':')[0]}:"`} belongs to one instance`,
      'pass --store postgres://USER@HOST/DB (every fleet guarantee then holds per worker), or run one worker (--workers 1)',
    );
}

/** Flags, files and the environment → the options of startProxy (no store opened, no port taken). */
export async function proxyOptions(
  opts: Record<string, unknown>,
  ctx: Ctx,
  workers: number,
  quiet = false,
): Promise<ProxyOptions & { listen: string; adminListen: string; store: string }> {
  const listen = scalarText(opts.listen) ?? '127.0.0.1:8787';
  const adminListen = scalarText(opts.adminListen) ?? '127.0.0.1:8788';
  checkDistinctListeners(listen, adminListen);
  const store = scalarText(opts.store) ?? 'sqlite:./tourniquet.db';
  checkWorkersStore(workers, store);
  const adminToken = await singleToken(opts, ctx, workers);
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
  if (exposed && !quiet) ctx.out.warn(exposed);

  // Revokes not yet in the store: next to a SQLite file by default; for a shared store, under the state directory.
  const stateDir = ctx.io.env.TOURNIQUET_STATE_DIR || defaultStateDir(ctx.io.env);
  const revokeJournal = opts.revokeJournal
    ? (scalarText(opts.revokeJournal) ?? '')
    : isPostgres(store)
      ? join(stateDir, 'proxy-revokes')
      : undefined;
  return {
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
  };
}

/** Resolves when the operator asks to stop (SIGINT/SIGTERM abort the command's signal). */
export function untilStopped(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** `tourniquet proxy serve`: run the vault-key proxy until SIGINT/SIGTERM, then drain and flush; SIGHUP reloads tokens and the master key. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const workers = parseWorkerCount(opts.workers);
  if (isProxyWorker(ctx.io.env)) return (await import('./proxy-workers.js')).runWorker(opts, ctx, workers);
  const options = await proxyOptions(opts, ctx, workers);
  if (workers > 1) return (await import('./proxy-workers.js')).runPrimary(options, ctx, workers);

  const { startProxy } = await import('../proxy/server.js');
  const proxy = await startProxy(options);
  // SIGHUP: re-read the token file and the master key source; a bad new file keeps the old one.
  // Listening before the ready line: a SIGHUP sent on seeing it must not meet SIGHUP's default action (exit).
  const onHup = () => void proxy.reload();
  process.on('SIGHUP', onHup);
  const ready = { data_plane_url: proxy.dataUrl, admin_url: proxy.adminUrl, instance_id: proxy.instanceId };
  if (ctx.flags.json) ctx.out.data(inertJson(ready));
  else ctx.out.data(`data plane ${proxy.dataUrl}\nadmin API  ${proxy.adminUrl}\ninstance   ${proxy.instanceId}`);
  try {
    await untilStopped(ctx.signal);
  } finally {
    process.off('SIGHUP', onHup);
  }
  ctx.out.info('stopping: finishing requests in flight and flushing the audit');
  await proxy.stop();
  return 0;
}
