import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, isolatedEnv } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';
import { startAccountsFake, type AccountsFake } from '../../src/sandbox/agent-platforms/accounts.js';

const ADMIN = 'sk_live_admin_terminal_0123456789';
let term: Terminal | undefined;
let fake: AccountsFake;
beforeEach(async () => {
  fake = await startAccountsFake({ adminKey: ADMIN });
});
afterEach(async () => {
  term?.close();
  term = undefined;
  await fake.close();
});

const env = () =>
  isolatedEnv({
    TERM: 'xterm-256color',
    NO_COLOR: '1',
    TOURNIQUET_AGENT_ACCOUNTS_URL: fake.baseUrl,
    TOURNIQUET_AGENT_ACCOUNTS_KEY: ADMIN,
  });

describe('agent confirmations at a real terminal (tmux, built CLI)', () => {
  it('disable asks y/n; "n" cancels (130) and changes nothing', async () => {
    const a = fake.addAgent('loop-agent');
    term = new Terminal(`${process.execPath} ${BIN} agent disable ${a.id}`, env());
    await term.waitFor(`Disable agent ${a.id}?`);
    term.type('n');
    term.send('Enter');
    expect(await term.exitCode()).toBe(130);
    expect(fake.agents.get(a.id)?.status).toBe('active');
  });

  it('disable asks y/n; "y" disables and verifies (exit 0)', async () => {
    const a = fake.addAgent('loop-agent');
    term = new Terminal(`${process.execPath} ${BIN} agent disable ${a.id}`, env());
    await term.waitFor(`Disable agent ${a.id}?`);
    term.type('y');
    term.send('Enter');
    expect(await term.exitCode()).toBe(0);
    expect(term.screen()).toContain('verified');
    expect(fake.agents.get(a.id)?.status).toBe('disabled');
  });

  it('without an id at a terminal, offers the agents to pick from (type to filter)', async () => {
    fake.addAgent('billing-bot');
    const target = fake.addAgent('research-loop');
    term = new Terminal(`${process.execPath} ${BIN} agent disable --yes`, env(), { width: 160, height: 40 });
    await term.waitFor('Which agent?');
    term.type('research');
    await term.waitFor(/❯.*research-loop/);
    term.send('Enter');
    expect(await term.exitCode()).toBe(0);
    expect(fake.agents.get(target.id)?.status).toBe('disabled');
    expect([...fake.agents.values()].filter((a) => a.status === 'disabled')).toHaveLength(1);
  });

  it('delete wants the agent id typed, not just y', async () => {
    const a = fake.addAgent('retired');
    term = new Terminal(`${process.execPath} ${BIN} agent delete ${a.id}`, env(), { width: 220, height: 40 });
    await term.waitFor(`Type "${a.id}" to go on`);
    term.type('y');
    term.send('Enter');
    await term.waitFor(`type ${a.id}`);
    expect(fake.agents.has(a.id)).toBe(true);
    term.send('C-u');
    term.type(a.id);
    term.send('Enter');
    expect(await term.exitCode()).toBe(0);
    expect(fake.agents.has(a.id)).toBe(false);
  });
});
