import type { Ctx } from './context.js';
import { inertJson } from '../core/inert.js';
import { TourniquetError } from '../core/errors.js';
import { jsonLog, lineAtomic, type RequestLog } from '../proxy/log.js';
import { startWorkers, workerChannel } from '../proxy/workers.js';
import { proxyOptions, untilStopped } from './proxy.js';
import type { ProxyOptions } from '../proxy/server.js';

/**
 * One worker of `proxy serve --workers N`: a whole proxy instance that takes connections on the
 * shared ports and on ports of its own (advertised in the registry), reports ready or why it
 * could not start to the primary, and stops gracefully when the primary (or a signal) says so.
 */
export async function runWorker(opts: Record<string, unknown>, ctx: Ctx, workers: number): Promise<number> {
  const stop = new AbortController();
  const offStop = workerChannel.onStop(() => stop.abort());
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    let proxy;
    try {
      const o = await proxyOptions(opts, ctx, workers, true);
      const { startProxy } = await import('../proxy/server.js');
      proxy = await startProxy({
        ...o,
        ownListeners: true,
        // Several processes write to one stderr: whole lines per write, so theirs never interleave mid-line.
        log: jsonLog(
          lineAtomic((text) => ctx.io.stderr.write(text)),
          (s) => ctx.secrets.scrub(s),
        ),
      });
    } catch (err) {
      return await workerChannel.failed(err);
    }
    const me = {
      instance_id: proxy.instanceId,
      pid: process.pid,
      data_plane_url: proxy.dataUrl,
      admin_url: proxy.adminUrl,
    };
    // Before the primary hears this worker is ready: from then on it may pass SIGHUP on, and with no
    // handler yet, SIGHUP's default action would end the worker.
    const onHup = () => void proxy.reload();
    process.on('SIGHUP', onHup);
    try {
      await workerChannel.ready(me, proxy.listenUrls);
      await untilStopped(stop.signal);
    } finally {
      process.off('SIGHUP', onHup);
    }
    await proxy.stop();
    return 0;
  } finally {
    offStop();
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The primary of `proxy serve --workers N`: opens no store and takes no secret of the store's;
 * starts N workers, prints where they listen, keeps them running, stops them on SIGINT/SIGTERM.
 */
export async function runPrimary(options: ProxyOptions, ctx: Ctx, count: number): Promise<number> {
  const log = options.log as RequestLog;
  // SIGHUP would end the primary (its default action): from the start, it is passed on instead.
  let reload = () => {};
  const onHup = () => reload();
  process.on('SIGHUP', onHup);
  try {
    return await supervise(log, ctx, count, (fn) => (reload = fn));
  } finally {
    process.off('SIGHUP', onHup);
  }
}

async function supervise(
  log: RequestLog,
  ctx: Ctx,
  count: number,
  onReload: (fn: () => void) => void,
): Promise<number> {
  const started = await startWorkers({ count, log, signal: ctx.signal });
  onReload(() => started.reload());
  const ready = { data_plane_url: started.dataUrl, admin_url: started.adminUrl, workers: started.workers };
  if (ctx.flags.json) ctx.out.data(inertJson(ready));
  else
    ctx.out.data(
      [
        `data plane ${started.dataUrl}`,
        `admin API  ${started.adminUrl}`,
        `workers    ${count} (each a proxy instance of its own; shared ports above, own ports below)`,
        ...started.workers.map(
          (w) => `instance   ${w.instance_id}  pid ${w.pid}  data ${w.data_plane_url}  admin ${w.admin_url}`,
        ),
      ].join('\n'),
    );

  await Promise.race([untilStopped(ctx.signal), started.failed]);
  ctx.out.info(`stopping ${count} workers: finishing requests in flight and flushing the audit`);
  if (!(await started.stop()))
    throw new TourniquetError(
      'step-failed',
      'a worker did not stop cleanly (killed after the grace, or exited non-zero)',
      {
        hint: 'its pending audit rows read as outcome unknown once the fleet sweeps them',
      },
    );
  return 0;
}
