// Two builds of the proxy side by side: commit REV (exported with git archive) and the working tree
// (issue 15). `node test/bench/_proxy-pair.mjs REV [rate] [seconds] [rounds]`:
// - rate a number: both at that fixed rate at the same time, CPU per request of each;
// - rate `max`: maximum throughput (autocannon, 64 connections), one after the other in each round,
//   the order swapped every round.
// Pairs are measured together or back to back, so a host whose speed drifts (this one's steal time
// reaches 50 %) slows both alike; the ratio new/base per round and its median are what to read. Not run by `npm run bench` (files starting with `_` are
// skipped); docs/performance.md keeps results.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ROOT, bundle, child, adminClient, cpuMs, median, CHAT, CHAT_PATH } from './_lib.mjs';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const [rev = 'HEAD', rate = '1000', seconds = '8', rounds = '5'] = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), 'tq-pair-'));
const baseSrc = join(tmp, 'base');
mkdirSync(baseSrc);
execFileSync('sh', ['-c', `git archive ${JSON.stringify(rev)} src tsconfig.json package.json | tar -x -C ${baseSrc}`], {
  cwd: ROOT,
});
symlinkSync(join(ROOT, 'node_modules'), join(baseSrc, 'node_modules'));
// Under node_modules, so the bundles find their (external) packages.
const cache = join(ROOT, 'node_modules', '.cache');
const dirs = { base: join(cache, 'tourniquet-pair-base'), new: join(cache, 'tourniquet-pair-new') };
// The base is built with this tree's proxy-child.ts, so both answer the same harness.
await bundle(dirs.base, { child: join(ROOT, 'test/bench/proxy-child.ts') }, baseSrc);
await bundle(dirs.new, { child: join(ROOT, 'test/bench/proxy-child.ts') }, ROOT);
const procs = [];
try {
  const upstream = await child(dirs.new, 'openai', {});
  procs.push(upstream.proc);
  const start = async (name) => {
    const p = await child(
      dirs[name],
      'proxy',
      {
        store: `sqlite:${join(tmp, `${name}.db`)}`,
        adminToken: ADMIN,
        upstreams: { openai: upstream.url },
        upstreamKeys: [{ vendor: 'openai', secret: 'sk-bench-upstream-000000000000', state: 'active', label: 'main' }],
      },
      // PAIR_NODE_ARGS_NEW / _BASE: Node options for one side (e.g. a V8 flag against none, on the same commit).
      (process.env[`PAIR_NODE_ARGS_${name.toUpperCase()}`] ?? '').split(' ').filter(Boolean),
    );
    procs.push(p.proc);
    const vk = await adminClient(ADMIN)(p.adminUrl, 'POST', '/v1/vault-keys', {
      vendor: 'openai',
      agent_run_id: 'pair',
    });
    return { ...p, secret: vk.secret };
  };
  const px = { base: await start('base'), new: await start('new') };
  const max = rate === 'max';
  const load = (n, duration) =>
    autocannon({
      url: px[n].dataUrl + CHAT_PATH,
      method: 'POST',
      connections: max ? 64 : 16,
      ...(max ? {} : { overallRate: Number(rate) }),
      duration,
      headers: { authorization: `Bearer ${px[n].secret}`, 'content-type': 'application/json' },
      body: CHAT,
    });
  await Promise.all([load('base', 1), load('new', 1)]); // warm-up
  const us = { base: [], new: [] };
  const rps = { base: [], new: [] };
  const ratios = [];
  for (let r = 1; r <= Number(rounds); r++) {
    const c0 = { base: cpuMs(px.base.proc.pid), new: cpuMs(px.new.proc.pid) };
    const got = {};
    if (max)
      for (const k of r % 2 ? ['base', 'new'] : ['new', 'base']) {
        got[k] = await load(k, Number(seconds));
        if (got[k].non2xx || got[k].errors) throw new Error(`${k}: ${got[k].non2xx} non-2xx, ${got[k].errors} errors`);
      }
    else [got.base, got.new] = await Promise.all([load('base', Number(seconds)), load('new', Number(seconds))]);
    for (const k of ['base', 'new']) {
      us[k].push(((cpuMs(px[k].proc.pid) - c0[k]) * 1000) / got[k]['2xx']);
      rps[k].push(got[k]['2xx'] / Number(seconds));
    }
    ratios.push(max ? rps.new.at(-1) / rps.base.at(-1) : us.new.at(-1) / us.base.at(-1));
    console.log(
      `round ${r}: base ${rps.base.at(-1).toFixed(0)} req/s, ${us.base.at(-1).toFixed(0)} µs; ` +
        `new ${rps.new.at(-1).toFixed(0)} req/s, ${us.new.at(-1).toFixed(0)} µs; ` +
        `new/base (${max ? 'req/s' : 'CPU'}) ${ratios.at(-1).toFixed(3)}`,
    );
  }
  console.log(
    `medians: base (${rev}) ${median(rps.base).toFixed(0)} req/s, ${median(us.base).toFixed(0)} µs per request; ` +
      `new ${median(rps.new).toFixed(0)} req/s, ${median(us.new).toFixed(0)} µs; ` +
      `the rounds' new/base (${max ? 'req/s' : 'CPU'}) ${median(ratios).toFixed(3)}`,
  );
} finally {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
