import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BIN, ROOT } from '../helpers/cli.js';

/**
 * Runs a GitHub Actions workflow file's `run:` steps the way the runner does: bash -eo pipefail,
 * no terminal, CI and GITHUB_ACTIONS set, a GITHUB_STEP_SUMMARY and GITHUB_OUTPUT file per step,
 * GITHUB_ENV carried to later steps, `${{ … }}` expressions filled in, `if: always()` honoured.
 * `uses:` steps (checkout, cache, artifact upload) are the runner's business and are skipped;
 * the install step is replaced by `tourniquet` on PATH pointing at this checkout's build.
 */
export interface StepResult {
  name: string;
  id?: string;
  code: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
}

interface Step {
  name?: string;
  id?: string;
  run?: string;
  uses?: string;
  if?: string;
  env?: Record<string, string>;
}

export function workflowJob(file: string, job: string): { env: Record<string, string>; steps: Step[] } {
  const doc = parse(readFileSync(file, 'utf8')) as {
    jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
  };
  return { env: doc.jobs[job]!.env ?? {}, steps: doc.jobs[job]!.steps };
}

/** A `tourniquet` command on PATH: this checkout's bin, as `npm install -g` would provide it. */
export function tourniquetOnPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tq-bin-'));
  writeFileSync(join(dir, 'tourniquet'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  return dir;
}

function parseKv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

const sh = (script: string, env: NodeJS.ProcessEnv, cwd: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script],
      { env, cwd, timeout: 120_000, maxBuffer: 32 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });

export interface RunOptions {
  /** Values for `${{ vars.X }}`, `${{ secrets.X }}`, `${{ matrix.X }}`. */
  vars: Record<string, string>;
  secrets: Record<string, string>;
  matrix: Record<string, string>;
  /** The machine's own environment beyond the workflow's (e.g. a vendor base URL pointing at the sandbox). */
  machineEnv: Record<string, string | undefined>;
  workspace: string;
  skip: (s: Step) => boolean;
}

export async function runWorkflowSteps(
  steps: Step[],
  jobEnv: Record<string, string>,
  o: RunOptions,
): Promise<StepResult[]> {
  const temp = mkdtempSync(join(tmpdir(), 'tq-runner-'));
  mkdirSync(o.workspace, { recursive: true });
  const githubEnv = join(temp, 'github_env');
  writeFileSync(githubEnv, '');
  const results: StepResult[] = [];
  const outputs: Record<string, Record<string, string>> = {};
  const github: Record<string, string> = {
    workspace: o.workspace,
    run_id: '4242',
    run_attempt: '1',
    repository: 'acme/payments',
    workflow: 'tourniquet scheduled rotation',
  };
  const expr = (text: string) =>
    text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, e: string) => {
      const [scope, ...rest] = e.split('.');
      if (scope === 'steps') return outputs[rest[0]!]?.[rest[2]!] ?? '';
      const table: Record<string, Record<string, string>> = {
        vars: o.vars,
        secrets: o.secrets,
        matrix: o.matrix,
        github,
      };
      return table[scope!]?.[rest.join('.')] ?? '';
    });
  let failed = false;
  for (const [n, step] of steps.entries()) {
    const name = step.name ?? step.uses ?? `step ${n}`;
    if (step.uses || o.skip(step) || (failed && step.if !== 'always()')) continue;
    const summary = join(temp, `summary-${n}`);
    const output = join(temp, `output-${n}`);
    const env: NodeJS.ProcessEnv = {
      ...o.machineEnv,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      GITHUB_ENV: githubEnv,
      GITHUB_WORKSPACE: o.workspace,
      GITHUB_RUN_ID: github.run_id,
      GITHUB_RUN_ATTEMPT: github.run_attempt,
      GITHUB_REPOSITORY: github.repository,
      GITHUB_WORKFLOW: github.workflow,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_EVENT_NAME: 'schedule',
      GITHUB_ACTOR: 'github-actions[bot]',
      RUNNER_TEMP: temp,
      ...Object.fromEntries(Object.entries(jobEnv).map(([k, v]) => [k, expr(String(v))])),
      ...parseKv(githubEnv),
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expr(String(v))])),
    };
    writeFileSync(summary, '');
    writeFileSync(output, '');
    const r = await sh(expr(step.run!), env, o.workspace);
    const stepOutputs = parseKv(output);
    if (step.id) outputs[step.id] = stepOutputs;
    results.push({ name, id: step.id, ...r, summary: readFileSync(summary, 'utf8'), outputs: stepOutputs });
    if (r.code !== 0) failed = true;
  }
  return results;
}

export const WORKFLOW = join(ROOT, 'docs', 'scheduled-rotation', 'github-workflow.yml');
export const CRON_SCRIPT = join(ROOT, 'docs', 'scheduled-rotation', 'rotate-due.sh');
