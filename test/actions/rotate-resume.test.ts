import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from '../proxy/helpers.js';
import { ROOT } from '../helpers/cli.js';
import { privateCli } from './private-cli.js';
import { probeLoop } from './probe-loop.js';
import { cliEnv, openaiEnv } from './cli-env.js';

const STEPS = [
  'rotate:inspect',
  'rotate:new-key',
  'rotate:verify-standby',
  'rotate:promote',
  'rotate:verify-audit',
  'rotate:retire-old',
  'rotate:sweep',
  'rotate:delete-old',
  'rotate:watch-tail',
];
const VERIFIED = new Set([
  'rotate:verify-standby',
  'rotate:promote',
  'rotate:verify-audit',
  'rotate:retire-old',
  'rotate:sweep',
  'rotate:watch-tail',
]);

function journalOf(stateDir: string): { id: string; entries: any[] } | undefined {
  const root = join(stateDir, 'incidents');
  if (!existsSync(root)) return undefined;
  const [id] = readdirSync(root);
  if (!id || !existsSync(join(root, id, 'journal.jsonl'))) return undefined;
  const lines = readFileSync(join(root, id, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const entries = lines.flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
  return { id, entries };
}

/** Where the kill landed: the steps done and verified, and the one in flight (started, not finished). */
function killPoint(entries: any[]): { completed: number; finished: number; inFlight: string | null; last: string } {
  const started = entries.filter((e) => e.type === 'step' && e.phase === 'started').map((e) => e.step);
  const ended = new Set(
    entries.filter((e) => e.type === 'step' && (e.phase === 'finished' || e.phase === 'failed')).map((e) => e.step),
  );
  const last = entries.at(-1);
  return {
    completed: completedSteps(entries),
    finished: STEPS.filter((st) => ended.has(st) && !entries.some((e) => e.step === st && e.phase === 'failed')).length,
    inFlight: started.find((s) => !ended.has(s)) ?? null,
    last: last ? `${last.type}${last.step ? ` ${last.step}` : ''}${last.phase ? ` ${last.phase}` : ''}` : '(empty)',
  };
}

function completedSteps(entries: any[]): number {
  const finished = new Set(entries.filter((e) => e.type === 'step' && e.phase === 'finished').map((e) => e.step));
  const verified = new Set(entries.filter((e) => e.type === 'verified' && e.ok).map((e) => e.step));
  return STEPS.filter((s) => finished.has(s) && (!VERIFIED.has(s) || verified.has(s))).length;
}

/** Run the built CLI and SIGKILL it as soon as the journal shows `boundary` steps complete. */
function rotateAndKillAt(
  bin: string,
  boundary: number,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ killed: boolean; id?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: env,
      cwd: ROOT,
      stdio: 'ignore',
    });
    let killed = false;
    const timer = setInterval(() => {
      const j = journalOf(env.TOURNIQUET_STATE_DIR!);
      if (j && completedSteps(j.entries) >= boundary && !killed) {
        killed = child.kill('SIGKILL');
      }
    }, 1);
    child.on('exit', () => {
      clearInterval(timer);
      resolve({ killed, id: journalOf(env.TOURNIQUET_STATE_DIR!)?.id });
    });
  });
}

/** The built CLI as a script runs it (the private copy), stdout and stderr captured. */
function runCli(
  bin: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end();
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe('a rotation killed at each step boundary is finished by resume, with no failed agent call', () => {
  let h: Harness;
  let bin: string;
  beforeAll(async () => {
    h = await startHarness({ sandbox: { timeScale: 0.002 } });
    bin = await privateCli();
  });
  afterAll(async () => h.stop());

  for (let boundary = 1; boundary < STEPS.length; boundary++) {
    it(`killed after ${STEPS[boundary - 1]}`, async ({ annotate }) => {
      // Given the active OpenAI key and an agent calling through the proxy
      const active = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data.find(
        (k: any) => k.state === 'active',
      );
      const oldSecret = boundary === 1 ? h.sandbox.keys.openai.secret : undefined;
      const env = cliEnv(h, openaiEnv(h));
      const args = ['rotate', 'openai', '--yes', '--json', '--tail-timeout', '10', '--tail-interval', '20'];
      if (oldSecret) {
        const f = join(env.HOME!, 'old.txt');
        writeFileSync(f, oldSecret);
        args.push('--old-key-file', f, '--old-key-id', h.sandbox.keys.openai.id);
      }
      const vk = (await h.admin('POST', '/v1/vault-keys', { vendor: 'openai' })).body;
      const loop = probeLoop(h.proxy.dataUrl, '/openai/v1/models', vk.secret);
      // When the rotation is killed at the boundary, then resumed
      const run = await rotateAndKillAt(bin, boundary, args, env);
      expect(run.id).toBeDefined();
      if (boundary < STEPS.length - 1) expect(run.killed).toBe(true);
      // Which step the kill hit: at least the boundary was done; the next one may have been under way.
      const hit = killPoint(journalOf(env.TOURNIQUET_STATE_DIR!)!.entries);
      await annotate(
        `SIGKILL after ${hit.completed} of ${STEPS.length} steps; in flight: ${hit.inFlight ?? 'none'}; last journal line: ${hit.last}`,
      );
      expect(hit.completed).toBeGreaterThanOrEqual(boundary);
      const resumed = await runCli(bin, ['resume', run.id!, '--yes', '--json'], env);
      const stats = await loop.stop();
      // Then the rotation is done, the new key is active, the old one retired, and no call failed
      expect(resumed.code, resumed.stderr).toBe(0);
      const out = JSON.parse(resumed.stdout);
      expect(out.status).toBe('done');
      // Resume skipped at least the steps the journal shows done and verified, at most those it shows
      // finished (a step killed between its result and its verification has a result the engine
      // may take as done), and ran the rest.
      if (run.killed && !out.already_finished) {
        expect(out.resumed_steps).toBeGreaterThanOrEqual(hit.completed);
        expect(out.resumed_steps).toBeLessThanOrEqual(hit.finished);
      }
      const keys = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data;
      expect(keys.find((k: any) => k.id === active.id).state).toBe('retired');
      expect(keys.filter((k: any) => k.state === 'active')).toHaveLength(1);
      expect(stats.failures, JSON.stringify([...stats.statuses])).toBe(0);
      const entries = journalOf(env.TOURNIQUET_STATE_DIR!)!.entries;
      expect(entries.at(-1)).toMatchObject({ type: 'finished', status: 'done' });
    }, 40000);
  }
});
