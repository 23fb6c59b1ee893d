// Production keys at rest (issue 14), run by test/bench/run.mjs (`npm run bench -- at-rest`) or alone.
// The real proxy (in this process) on SQLite and on PostgreSQL:
//   issue     adding a production key through the admin API (sealed) beside issuing a vault key (hashed)
//   start-up  with 10,000 sealed production keys in the store, beside an empty store
//   rotate    re-wrapping 10,000 data keys under a new master key, while an agent calls through
//   envelope  sealing and opening one key in memory (AES-256-GCM twice)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tsImport } from 'tsx/esm/api';
import { median, pct } from './_lib.mjs';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const STORED = Number(process.env.TOURNIQUET_BENCH_STORED_KEYS ?? 10_000);
const ADDS = Number(process.env.TOURNIQUET_BENCH_RUNS ?? 200);
const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const mod = (p) => tsImport(p, import.meta.url);

const keyText = () => randomBytes(32).toString('base64');

async function admin(url, method, path, body) {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

/** `STORED` sealed rows written straight into the store's table (as many admin calls would have). */
async function prefill(spec, ring, kind) {
  const { seal } = await mod('../../src/proxy/crypto/envelope.ts');
  const rows = Array.from({ length: STORED }, (_, i) => {
    const id = `up_bench_${i}`;
    const s = seal(`sk_test_bench_${i}_${randomBytes(12).toString('hex')}`, id, 'openai', ring.current);
    return [id, 'openai', 'standby', 'sk…', null, null, null, s.ct, s.dek, s.kid, 't', 't', i + 1];
  });
  const cols =
    'id, vendor, state, hint, label, account_sid, secret, secret_ct, secret_dek, master_key_id, created_at, updated_at, revision';
  if (kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(spec.replace(/^sqlite:/, ''));
    const ins = db.prepare(
      `INSERT INTO upstream_keys (${cols}) VALUES (${cols
        .split(',')
        .map(() => '?')
        .join(', ')})`,
    );
    db.transaction(() => rows.forEach((r) => ins.run(...r)))();
    db.prepare(`INSERT INTO meta (k, v) VALUES ('master_key_id', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`).run(
      ring.current.id,
    );
    db.close();
  } else {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: spec });
    await c.connect();
    const at = (j) => rows.map((r) => r[j]);
    await c.query(
      `INSERT INTO upstream_keys (${cols}) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])`,
      Array.from({ length: 13 }, (_, j) => at(j)),
    );
    await c.query(
      `INSERT INTO tourniquet_settings (k, v) VALUES ('master_key_id', $1) ON CONFLICT (k) DO UPDATE SET v = excluded.v`,
      [ring.current.id],
    );
    await c.end();
  }
}

async function measureStore(kind, spec, sandbox) {
  const { startProxy } = await mod('../../src/proxy/index.ts');
  const { masterKeyId } = await mod('../../src/proxy/crypto/master-key.ts');
  const ringOf = (texts) => ({
    from: 'env',
    name: 'BENCH_MASTER_KEY',
    value: texts.join(','),
    current: { id: masterKeyId(Buffer.from(texts[0], 'base64')), key: Buffer.from(texts[0], 'base64') },
  });
  const oldKey = keyText();
  const newKey = keyText();
  const start = (ring, store = spec) =>
    startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store,
      adminToken: ADMIN,
      masterKey: ring,
      upstreams: sandbox.urls,
      upstreamKeys: [{ id: 'up_stripe_main', vendor: 'stripe', secret: sandbox.keys.stripe.secret, state: 'active' }],
      log: false,
      shutdownGraceMs: 200,
    });
  // Issue: sealed production keys against hashed vault keys, same store, same fsync
  let p = await start(ringOf([oldKey]));
  const addMs = [];
  const vkMs = [];
  for (let i = 0; i < ADDS; i++) {
    let t = performance.now();
    await admin(p.adminUrl, 'POST', '/v1/upstream-keys', {
      vendor: 'resend',
      secret: `re_bench_${i}_${randomBytes(8).toString('hex')}`,
      state: 'standby',
    });
    addMs.push(performance.now() - t);
    t = performance.now();
    await admin(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' });
    vkMs.push(performance.now() - t);
  }
  await p.stop();
  // Start-up: empty against STORED sealed keys
  const emptyStart = performance.now();
  const empty = await start(
    ringOf([oldKey]),
    kind === 'sqlite' ? `sqlite:${spec.replace(/^sqlite:/, '')}.empty` : spec.replace(/\/[^/]*$/, '/postgres'),
  );
  const emptyMs = performance.now() - emptyStart;
  await empty.stop();
  await prefill(spec, ringOf([oldKey]), kind);
  const t0 = performance.now();
  p = await start(ringOf([newKey, oldKey]));
  const fullMs = performance.now() - t0;
  // Rotate while an agent calls through; the same agent alone first, as the control
  const vk = (await admin(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body.secret;
  const agentWhile = async (during) => {
    let stop = false;
    const calls = [];
    const agent = (async () => {
      while (!stop) {
        const t = performance.now();
        const r = await fetch(p.dataUrl + '/v1/customers', { headers: { authorization: `Bearer ${vk}` } });
        await r.arrayBuffer();
        calls.push({ ms: performance.now() - t, ok: r.status === 200, status: r.status });
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const out = await during();
    stop = true;
    await agent;
    return { calls, out };
  };
  const r0 = performance.now();
  const rot = await agentWhile(() => admin(p.adminUrl, 'POST', '/v1/master-key/rotate', {}));
  const rotateMs = performance.now() - r0;
  const control = await agentWhile(() => new Promise((r) => setTimeout(r, Math.min(rotateMs, 10_000))));
  const rotated = rot.out;
  const calls = rot.calls;
  await p.stop();
  return { addMs, vkMs, emptyMs, fullMs, rotateMs, rewrapped: rotated.body.rewrapped, calls, control: control.calls };
}

export async function bench() {
  const { startSandbox } = await mod('../../src/sandbox/index.ts');
  const { startPg } = await mod('../helpers/pg.ts');
  const { seal, open } = await mod('../../src/proxy/crypto/envelope.ts');
  const { masterKeyId } = await mod('../../src/proxy/crypto/master-key.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tq-bench-at-rest-'));
  const sandbox = await startSandbox({ timeScale: 0.001 });
  const cluster = await startPg({ fsync: true });
  try {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: cluster.url });
    await c.connect();
    await c.query('CREATE DATABASE bench_at_rest');
    await c.end();
    const results = {
      sqlite: await measureStore('sqlite', `sqlite:${join(dir, 'proxy.db')}`, sandbox),
      postgres: await measureStore('postgres', cluster.url.replace(/\/[^/]*$/, '/bench_at_rest'), sandbox),
    };
    const k = Buffer.from(keyText(), 'base64');
    const mk = { id: masterKeyId(k), key: k };
    const n = 20_000;
    const t = performance.now();
    for (let i = 0; i < n; i++)
      open(seal('sk_live_0123456789abcdefghij', `up_${i}`, 'stripe', mk), `up_${i}`, 'stripe', mk);
    const envelopeUs = ((performance.now() - t) * 1000) / n;
    const rows = [{ metric: 'seal + open one production key in memory', value: round(envelopeUs), unit: 'µs' }];
    for (const [name, r] of Object.entries(results)) {
      const failed = r.calls.filter((c) => !c.ok).length;
      rows.push(
        {
          metric: `${name}: add a production key (sealed), median / p99`,
          value: `${round(median(r.addMs))} / ${round(pct(r.addMs, 99))}`,
          unit: 'ms',
          baseline: round(median(r.vkMs)),
          target: 'baseline: issue a vault key (hashed)',
        },
        {
          metric: `${name}: start-up with ${STORED} sealed keys`,
          value: round(r.fullMs, 0),
          unit: 'ms',
          baseline: round(r.emptyMs, 0),
          target: 'baseline: an empty store',
        },
        {
          metric: `${name}: rotate the master key, ${r.rewrapped} data keys re-wrapped`,
          value: round(r.rotateMs, 0),
          unit: 'ms',
        },
        {
          metric: `${name}: the same agent without a rotation (control): failed / calls`,
          value: `${r.control.filter((c) => !c.ok).length} / ${r.control.length}`,
          unit: '',
        },
        {
          metric: `${name}: agent calls during the rotation: failed / slowest`,
          value: `${failed}${failed ? ` (${[...new Set(r.calls.filter((c) => !c.ok).map((c) => c.status))].join(', ')})` : ''} / ${round(Math.max(0, ...r.calls.map((c) => c.ms)), 1)} ms`,
          unit: '',
          target: '0 failed',
        },
      );
    }
    return {
      name: 'Production keys at rest (envelope encryption)',
      note: `${ADDS} adds; ${STORED} stored keys; proxy in this process; PostgreSQL with fsync on.`,
      rows,
    };
  } finally {
    await sandbox.stop();
    cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
