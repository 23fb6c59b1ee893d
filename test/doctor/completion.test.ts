import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInProcess } from '../helpers/cli.js';

/**
 * Whether a shell is installed. Missing, its test is skipped on a developer's machine; under `CI`
 * that is an error, as for PostgreSQL: CI installs zsh and fish (`.ci/run`), so their absence is
 * a broken setup, not a reason to pass without checking.
 */
function has(shell: string): boolean {
  if (spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0) return true;
  if (process.env.CI) throw new Error(`${shell} not found, and CI must test its completions (.ci/run installs it)`);
  return false;
}

/** A shell this machine lacks: skipped with the reason on a developer's machine; in CI (which installs it: .ci/run) a failure. */
function needShell(ctx: { skip: (condition: boolean, note?: string) => void }, shell: string): void {
  if (has(shell)) return;
  if (process.env.CI) throw new Error(`${shell} is not installed (CI must install it: .ci/run)`);
  ctx.skip(true, `${shell} is not installed here (apt-get install ${shell}; .ci/run installs it)`);
}

async function script(shell: string): Promise<string> {
  const r = await runInProcess(['completion', shell]);
  expect(r.code, r.stderr).toBe(0);
  const file = join(mkdtempSync(join(tmpdir(), 'tq-compl-')), `tourniquet.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

describe('shell completions', () => {
  it('bash: commands, subcommands, options, and scenario ids after --scenario', async () => {
    const file = await script('bash');
    const complete = (words: string[]) =>
      execFileSync(
        'bash',
        [
          '-c',
          `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tourniquet; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: 'utf8' },
      )
        .trim()
        .split(' ');
    expect(complete(['tourniquet', 'd'])).toEqual(
      expect.arrayContaining(['decide', 'demo', 'damage', 'doctor', 'drill']),
    );
    expect(complete(['tourniquet', 'config', 's'])).toEqual(['set']);
    expect(complete(['tourniquet', 'demo', '--t'])).toEqual(['--time-scale', '--tail-mode']);
    expect(complete(['tourniquet', 'incident', '--scenario', 'run'])).toEqual(['runaway-loop']);
    expect(complete(['tourniquet', 'watch', '--o'])).toEqual(['--once']);
  });

  it('zsh: parses, and offers the same words', async (ctx) => {
    needShell(ctx, 'zsh');
    const file = await script('zsh');
    expect(spawnSync('zsh', ['-n', file]).status).toBe(0);
    const out = execFileSync(
      'zsh',
      [
        '-c',
        `compdef(){}; compadd(){ shift; print -l -- "$@" }; source ${file}; words=(tourniquet drill --); CURRENT=3; _tourniquet`,
      ],
      { encoding: 'utf8' },
    );
    expect(out.split('\n')).toEqual(expect.arrayContaining(['--sandbox', '--max-refusal-ms', '--json']));
  });

  it('fish: parses, and completes commands with their summaries', async (ctx) => {
    needShell(ctx, 'fish');
    const file = await script('fish');
    expect(spawnSync('fish', ['-n', file]).status).toBe(0);
    const out = execFileSync(
      'fish',
      ['-c', `source ${file}; complete -C 'tourniquet dem'; complete -C 'tourniquet demo --tail-mode '`],
      { encoding: 'utf8' },
    );
    expect(out).toMatch(/^demo\tthe whole 02:14 story/m);
    expect(out).toMatch(/^p95\t/m);
  });

  it('an unknown shell is exit 2', async () => {
    const r = await runInProcess(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bash, zsh, fish/);
  });
});
