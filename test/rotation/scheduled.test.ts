import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ADMIN_TOKEN, startHarness, through, type Harness } from '../proxy/helpers.js';
import { isolatedEnv, runBuilt } from '../helpers/cli.js';
import { CRON_SCRIPT, WORKFLOW, runWorkflowSteps, tourniquetOnPath, workflowJob, type StepResult } from './workflow.js';

/**
 * The scheduled-rotation user: the documented GitHub Actions workflow's steps run as the runner
 * runs them (no terminal; GITHUB_ACTIONS, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT set) against the
 * sandbox OpenAI and a real proxy. The vendor's admin API sits behind a counting pass-through,
 * so "no vendor call" is measured, and a failing DELETE can be switched on to leave a run
 * part-way for the next one to resume.
 */
interface VendorGate {
  url: string;
  calls: string[];
  failDeletes: boolean;
  close(): Promise<void>;
}

function vendorGate(target: string): Promise<VendorGate> {
  const gate: Omit<VendorGate, 'url' | 'close'> = { calls: [], failDeletes: false };
  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    gate.calls.push(`${req.method} ${req.url}`);
    if (gate.failDeletes && req.method === 'DELETE')
      return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
    ) as Record<string, string>;
    const up = await fetch(target + req.url, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    res
      .writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' })
      .end(Buffer.from(await up.arrayBuffer()));
  };
  // A forward that fails (the proxy gone mid-test) drops the socket: the CLI sees a failed call.
  const server: Server = createServer((req, res) => void forward(req, res).catch(() => res.destroy()));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve(
        Object.assign(gate, {
          url: `http://127.0.0.1:${port}`,
          close: () => new Promise<void>((r) => server.close(() => r())),
        }),
      );
    }),
  );
}

let h: Harness;
let gate: VendorGate;
let bin: string;
let workspace: string;
let stateDir: string;
const DAY = 86_400_000;

/**
 * The production key as if the proxy had held it for `days` (and an earlier rotation had made it:
 * its vendor id in the label, a key that is live at the vendor, so deleting it is a real DELETE).
 */
function age(days: number): void {
  const db = new Database(h.dbPath);
  try {
    const live = h.sandbox.openai.createKey('made by an earlier rotation');
    db.prepare(`UPDATE upstream_keys SET created_at = ?, label = ? WHERE vendor = 'openai' AND state = 'active'`).run(
      new Date(Date.now() - days * DAY).toISOString(),
      `tourniquet:${live.id}`,
    );
  } finally {
    db.close();
  }
}

async function upstream(): Promise<any[]> {
  return (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data;
}

async function auditTotal(): Promise<number> {
  return (await h.admin('GET', '/v1/audit/summary')).body.calls_total;
}

function runWorkflow(): Promise<StepResult[]> {
  const { env, steps } = workflowJob(WORKFLOW, 'rotate');
  return runWorkflowSteps(steps, env, {
    vars: { TOURNIQUET_PROXY_URL: h.proxy.adminUrl, OPENAI_PROJECT_ID: h.sandbox.keys.openai.project_id },
    secrets: { TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN, OPENAI_ADMIN_KEY: h.sandbox.keys.openai.admin_key },
    matrix: { vendor: 'openai' },
    // The machine: its PATH with tourniquet on it, a HOME, and OpenAI's API here at the gate.
    machineEnv: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: mkdtempSync(join(tmpdir(), 'tq-runner-home-')),
      TMPDIR: process.env.TMPDIR,
      TOURNIQUET_OPENAI_BASE_URL: gate.url,
    },
    workspace,
    skip: (s) => s.name === 'Install tourniquet',
  });
}

const step = (rs: StepResult[], name: string) => rs.find((r) => r.name === name)!;
const secrets = () => [h.sandbox.keys.openai.secret, h.sandbox.keys.openai.admin_key, ADMIN_TOKEN];

beforeAll(async () => {
  h = await startHarness();
  gate = await vendorGate(h.sandbox.urls.openai);
  bin = tourniquetOnPath();
  workspace = mkdtempSync(join(tmpdir(), 'tq-workspace-'));
  stateDir = join(workspace, 'tourniquet-state');
});
afterAll(async () => {
  await gate.close();
  await h.stop();
});

describe('the scheduled-rotation workflow (docs/scheduled-rotation/github-workflow.yml), step by step as the runner runs it', () => {
  it('nothing due: exit 0, "nothing due", not one vendor call, evidence and outputs say so', async () => {
    const before = await upstream();
    const calls = await auditTotal();
    const rs = await runWorkflow();
    for (const r of rs) expect(r.code, `${r.name}: ${r.stderr}`).toBe(0);
    const rotate = step(rs, 'Rotate what is due');
    expect(rotate.stderr).toMatch(
      /nothing due: openai key up_\w+ is 0 days old; due \d{4}-\d\d-\d\d \(max age 90d, default\)/,
    );
    expect(rotate.outputs).toMatchObject({
      status: 'nothing-due',
      rotated: 'false',
      verified: 'true',
      failed_probe_calls: '0',
    });
    expect(rotate.summary).toMatch(/nothing due/);
    expect(gate.calls).toEqual([]); // the vendor's API never heard of us
    expect(await auditTotal()).toBe(calls); // and nothing went through the proxy to it
    expect(await upstream()).toEqual(before);
    const evidence = JSON.parse(readFileSync(rotate.outputs.evidence!, 'utf8'));
    expect(evidence).toMatchObject({
      outcome: 'nothing-due',
      vendor: 'openai',
      policy: { max_age: '90d', source: 'default' },
      ran_on: { github: { run_id: '4242', repository: 'acme/payments' } },
    });
  }, 60_000);

  it('keys exits 7 while a key is overdue, and lists age, last use, vault keys and the due date', async () => {
    age(120);
    const agent = await h.issue({ vendor: 'openai', labels: { agent: 'summariser' } });
    expect((await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', agent.secret)).status).toBe(200);
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_ROTATION_MAX_AGE: '90d',
    });
    const r = await runBuilt(['keys', '--vendor', 'openai', '--json'], { env });
    expect(r.code, r.stderr).toBe(7);
    const inv = JSON.parse(r.stdout);
    const k = inv.keys.find((x: any) => x.state === 'active');
    expect(inv.overdue).toEqual([k.id]);
    expect(k).toMatchObject({
      vendor: 'openai',
      age_days: 120,
      overdue: true,
      policy: { max_age: '90d', source: 'default' },
    });
    expect(k.vault_keys).toBeGreaterThanOrEqual(1);
    expect(Date.now() - Date.parse(k.last_used_at)).toBeLessThan(60_000);
    expect(Date.parse(k.due_at)).toBeLessThan(Date.now());
    const text = await runBuilt(['keys', '--vendor', 'openai'], { env });
    expect(text.code).toBe(7);
    expect(text.stdout).toMatch(/OVERDUE 30d/);
    const fresh = await runBuilt(['keys', '--vendor', 'openai', '--max-age', '200d'], { env });
    expect(fresh.code, fresh.stderr).toBe(0);
  }, 60_000);

  it('one key overdue: rotated through the proxy with 0 failed probe calls, evidence kept, summary and outputs set', async () => {
    const old = (await upstream()).find((k) => k.state === 'active');
    const rs = await runWorkflow();
    for (const r of rs) expect(r.code, `${r.name}: ${r.stderr}`).toBe(0);
    const rotate = step(rs, 'Rotate what is due');
    expect(rotate.outputs).toMatchObject({
      status: 'done',
      rotated: 'true',
      verified: 'true',
      failed_probe_calls: '0',
    });
    expect(rotate.outputs.incident).toMatch(/^inc_/);
    const e = JSON.parse(readFileSync(rotate.outputs.evidence!, 'utf8'));
    expect(e).toMatchObject({
      outcome: 'done',
      verified: true,
      key_checked: { id: old.id, age_days: 120 },
      incident_id: rotate.outputs.incident,
    });
    expect(e.probe.failed).toBe(0);
    expect(e.probe.calls).toBeGreaterThanOrEqual(3);
    expect(e.steps.filter((s: any) => s.verified === false)).toEqual([]);
    expect(e.steps.map((s: any) => s.state)).toContain('done');
    const keys = await upstream();
    expect(keys.find((k) => k.id === old.id).state).toBe('retired');
    expect(keys.find((k) => k.id === e.new_key.id).state).toBe('active');
    // The reviewer's copy: Markdown beside the JSON, and the same in the step summary.
    expect(readdirSync(join(workspace, 'evidence')).filter((f) => f.endsWith('.md')).length).toBe(2);
    expect(rotate.summary).toMatch(/rotated and verified/);
    expect(rotate.summary).toMatch(/\*\*0 failed\*\*/);
    expect(step(rs, 'Nothing left overdue').stdout).toMatch(
      new RegExp(`rotation: done, incident ${rotate.outputs.incident}`),
    );
    // The inventory names the incident that made the new key.
    const inv = await runBuilt(['keys', '--vendor', 'openai', '--json'], {
      env: isolatedEnv({
        TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
        TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
        TOURNIQUET_STATE_DIR: stateDir,
        TOURNIQUET_ROTATION_MAX_AGE: '90d',
      }),
    });
    expect(inv.code).toBe(0);
    expect(JSON.parse(inv.stdout).keys.find((k: any) => k.id === e.new_key.id).last_rotation.incident_id).toBe(
      rotate.outputs.incident,
    );
    // No secret anywhere a CI log or an artifact would keep it (the runner swallows its ::add-mask:: lines).
    const log = (r: StepResult) =>
      (r.stdout + r.stderr)
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n');
    const kept = [
      ...rs.map((r) => log(r) + r.summary + JSON.stringify(r.outputs)),
      ...readdirSync(join(workspace, 'evidence')).map((f) => readFileSync(join(workspace, 'evidence', f), 'utf8')),
    ].join('\n');
    for (const s of secrets()) expect(kept).not.toContain(s);
    expect(rotate.stderr).toContain('::add-mask::');
  }, 90_000);

  it('a run that stops part-way is resumed by the next scheduled run, probe and evidence included', async () => {
    age(100);
    gate.failDeletes = true;
    const first = await runWorkflow();
    const broken = step(first, 'Rotate what is due');
    expect(broken.code).toBe(6);
    expect(broken.outputs.status).toBe('partial');
    expect(step(first, 'Nothing left overdue')).toBeUndefined(); // a failed step stops the job
    gate.failDeletes = false;
    const second = await runWorkflow();
    const resumed = step(second, 'Rotate what is due');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming the scheduled rotation inc_/);
    expect(resumed.outputs).toMatchObject({
      status: 'done',
      incident: broken.outputs.incident,
      failed_probe_calls: '0',
    });
    expect(JSON.parse(readFileSync(resumed.outputs.evidence!, 'utf8')).resumed_from).toBe(broken.outputs.incident);
  }, 120_000);
});

describe('the cron/systemd script (docs/scheduled-rotation/rotate-due.sh)', () => {
  it('nothing due: exit 0 and no vendor call', async () => {
    gate.calls.length = 0;
    const env = {
      ...isolatedEnv(),
      PATH: `${bin}:${process.env.PATH}`,
      TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_ROTATION_MAX_AGE: '90d',
      TOURNIQUET_EVIDENCE_DIR: join(workspace, 'cron-evidence'),
      TOURNIQUET_OPENAI_BASE_URL: gate.url,
    };
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile('sh', [CRON_SCRIPT], { env: env }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/nothing due/);
    expect(gate.calls).toEqual([]);
    expect(readdirSync(join(workspace, 'cron-evidence')).length).toBe(2);
  }, 60_000);
});
