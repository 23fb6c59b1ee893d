import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../proxy/helpers.js';
import { BIN, runInProcess } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';
import { cliEnv } from './cli-env.js';

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
