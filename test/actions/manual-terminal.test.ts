import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from '../proxy/helpers.js';
import { BIN, runInProcess } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';
import { cliEnv, openaiEnv } from './cli-env.js';

/**
 * A step a person must do: at a terminal the operator confirms it (and it is recorded so);
 * unattended (--yes) it is recorded and reported as NOT done, exit 6 (partly done).
 */
describe('a manual step, at a terminal and unattended', () => {
  let h: Harness;
  let env: Record<string, string | undefined>;
  let term: Terminal | undefined;
  beforeAll(async () => {
    h = await startHarness();
    env = cliEnv(h);
  });
  afterEach(() => {
    term?.close();
    term = undefined;
  });
  afterAll(async () => h.stop());

  it('at a terminal (tmux): the operator answers y; the step is done, confirmed by the operator, exit 0', async () => {
    term = new Terminal(
      `${process.execPath} ${BIN} run --scenario raw-key-wrap --vendor stripe --agent agt_term --cap 10`,
      { ...env, TERM: 'xterm-256color', NO_COLOR: '1' },
      { width: 130, height: 40 },
    );
    await term.waitFor(/Run ".*": 3 step/, 20_000);
    term.type('y');
    term.send('Enter');
    // two steps a person does, each confirmed at the keyboard
    for (const n of [1, 2]) {
      await term.waitFor(new RegExp(`(Done: [^\\n]*\\?[\\s\\S]*){${n}}`), 20_000);
      term.type('y');
      term.send('Enter');
    }
    expect(await term.exitCode(20_000)).toBe(0);
    const screen = term.screen();
    expect(screen).toContain('confirmed by the operator');
    expect(screen).toMatch(/done and verified/);
    expect(screen).not.toContain('left to do by hand');
  });

  it('unattended (--yes, no terminal): NOT done, what is left named, exit 6', async () => {
    const r = await runInProcess(
      ['run', '--scenario', 'raw-key-wrap', '--vendor', 'stripe', '--agent', 'agt_cron', '--cap', '10', '--yes'],
      { env },
    );
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/NOT DONE, left to do by hand: /);
    expect(r.stderr).toMatch(/left to do by hand \(not done, not confirmed\): /);
    expect(r.stderr).toMatch(/partly done; the journal is saved\. Continue with: tourniquet resume inc_\w+/);
    expect(r.stderr).not.toContain('confirmed by the operator');
    expect(r.stderr).not.toContain('done and verified');
  });
});

/**
 * A rotation whose old-key delete was left to a person (unattended: manual-pending) journals the
 * tail watch as skipped. Resumed at a terminal, once the person answers "deleted", the watch must
 * run (the old key file was given): here the key is in fact still alive, so exit 5, never 0.
 */
describe('resume after a manual delete: the tail watch skipped then runs now', () => {
  let h: Harness;
  let term: Terminal | undefined;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    term?.close();
    await h.stop();
  });

  it('at a terminal (tmux): "y" to the delete, then the watch sees the old key still accepted: exit 5', async () => {
    // Given an unattended rotation with the old key file but no id at the vendor: the delete is left to a person
    const env = cliEnv(h, openaiEnv(h));
    const oldFile = join(env.HOME!, 'old-openai.txt');
    writeFileSync(oldFile, h.sandbox.keys.openai.secret);
    const first = await runInProcess(
      [
        'rotate',
        'openai',
        '--yes',
        '--json',
        '--old-key-file',
        oldFile,
        '--tail-timeout',
        '1',
        '--tail-interval',
        '50',
      ],
      { env },
    );
    expect(first.code, first.stderr).toBe(6);
    const out = JSON.parse(first.stdout);
    expect(out.steps.at(-1)).toMatchObject({ key: 'rotate:watch-tail', state: 'skipped' });
    // When resumed at a terminal and the operator answers "deleted" (it was not)
    term = new Terminal(
      `${process.execPath} ${BIN} resume ${out.incident_id}`,
      { ...env, TERM: 'xterm-256color', NO_COLOR: '1' },
      { width: 160, height: 50 },
    );
    await term.waitFor(/deleted \(or expired\) in the dashboard\?/, 20_000);
    term.type('y');
    term.send('Enter');
    // Then the watch runs and the old key, still accepted, is exit 5
    expect(await term.exitCode(30_000)).toBe(5);
    const still = await fetch(`${h.sandbox.urls.openai}/v1/models`, {
      headers: { authorization: `Bearer ${h.sandbox.keys.openai.secret}` },
    });
    expect(still.status).toBe(200);
  });
});
