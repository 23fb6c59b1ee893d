import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';
import { startFixture, type Fixture } from './fixture.js';

let f: Fixture;
let term: Terminal | undefined;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  term?.close();
  term = undefined;
  await f.stop();
});

const open = (f: Fixture) =>
  new Terminal(
    `${process.execPath} ${BIN}`,
    { ...f.env, TERM: 'xterm-256color', NO_COLOR: '1' },
    { width: 130, height: 50 },
  );

function lastJournal(f: Fixture): Array<Record<string, unknown>> {
  const dir = join(f.env.TOURNIQUET_STATE_DIR!, 'incidents');
  const file = readdirSync(dir, { recursive: true })
    .map(String)
    .find((n) => n.endsWith('.jsonl'))!;
  return readFileSync(join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('`tourniquet` with no arguments at a real terminal (tmux)', () => {
  it('four keystrokes from the first prompt to "revoked and verified" when the defaults are right', async () => {
    term = open(f);
    const first = await term.waitFor('What is happening?');
    expect(first).toMatch(/profile default · proxy http:\/\/127\.0\.0\.1:\d+/);
    expect(first).toMatch(/1 of 1 instance healthy/);
    term.send('Enter'); // 1: agent stuck in a loop (first)
    // The question and its list may reach the screen in two frames: wait for the list itself.
    const agents = await term.waitFor(/Which agent\?[\s\S]*refund-agent/);
    expect(agents).toMatch(/! refund-agent\s+\d+\/min\s+[\d.]+x baseline/); // anomalous, first
    term.send('Enter'); // 2: the anomalous agent
    const plan = await term.waitFor(/Revoke vk_id_\w+ now\?/);
    expect(plan).toMatch(/rotating the production key would let about \d+ more calls/);
    term.send('y'); // 3
    term.send('Enter'); // 4
    const done = await term.waitFor('[exit', 15_000);
    expect(done).toMatch(/\[exit 0\]/);
    // The damage summary below it may fill the screen: scrolled back, as a person would.
    expect(term.scrollback()).toMatch(/done and verified/);
    expect((await f.stage.admin.getVaultKey(f.stage.agentKey.id))?.status).toBe('revoked');
  });

  it('Ctrl-C at a prompt cancels cleanly: exit 130, nothing revoked, the journal says cancelled', async () => {
    term = open(f);
    await term.waitFor('What is happening?');
    term.send('Enter');
    await term.waitFor('Which agent?');
    term.send('C-c');
    expect(await term.exitCode()).toBe(130);
    expect(term.screen()).toMatch(/cancelled by the operator/);
    expect(term.screen()).not.toMatch(/at .*\.js:\d+/);
    expect((await f.stage.admin.getVaultKey(f.stage.agentKey.id))?.status).toBe('active');
    const entries = lastJournal(f);
    expect(entries.at(-1)).toMatchObject({ type: 'finished', status: 'cancelled' });
  });
});
