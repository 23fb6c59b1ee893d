import { afterEach, describe, expect, it } from 'vitest';
import { BIN, isolatedEnv } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';

let term: Terminal | undefined;
afterEach(() => {
  term?.close();
  term = undefined;
});

const env = () => isolatedEnv({ TERM: 'xterm-256color', NO_COLOR: '1' });

describe('at a real terminal (tmux)', () => {
  it('decide asks what is happening and which vendor, then prints the plan', async () => {
    term = new Terminal(`${process.execPath} ${BIN} decide`, env());
    await term.waitFor('What is happening?');
    term.send('Enter'); // runaway-loop is first
    await term.waitFor('Which vendor?');
    term.send('Enter'); // Stripe
    const screen = await term.waitFor('[exit 0]');
    expect(screen).toMatch(/First move\s+REVOKE/);
    expect(screen).toMatch(/about 480 calls at the p95 tail/);
  });

  it('the select prompt takes arrow keys', async () => {
    term = new Terminal(`${process.execPath} ${BIN} estimate --rate 1/400ms`, env());
    await term.waitFor('Which vendor?');
    term.send('Down', 'Enter'); // Twilio
    const screen = await term.waitFor('[exit 0]');
    expect(screen).toMatch(/What each path leaks \(Twilio/);
    expect(screen).toMatch(/about 300 calls at the p95 tail/);
  });

  it('Ctrl-C at a prompt is a clean cancel: exit 130, no stack trace', async () => {
    term = new Terminal(`${process.execPath} ${BIN} decide`, env());
    await term.waitFor('What is happening?');
    term.send('C-c');
    expect(await term.exitCode()).toBe(130);
    const screen = term.screen();
    expect(screen).toMatch(/cancelled by the operator/);
    expect(screen).not.toMatch(/at .*\.js:\d+/);
  });
});
