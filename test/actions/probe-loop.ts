import { through } from '../proxy/helpers.js';

/** An agent calling through the proxy as fast as it can, counting every call that did not succeed. */
export function probeLoop(dataUrl: string, path: string, secret: string) {
  let running = true;
  const stats = { calls: 0, failures: 0, statuses: new Map<number, number>() };
  const done = (async () => {
    while (running) {
      const r = await through(dataUrl, 'GET', path, secret);
      stats.calls++;
      if (r.status !== 200) {
        stats.failures++;
        stats.statuses.set(r.status, (stats.statuses.get(r.status) ?? 0) + 1);
      }
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await done;
      return stats;
    },
  };
}
