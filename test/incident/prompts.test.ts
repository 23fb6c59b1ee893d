import { screen } from '@inquirer/testing/vitest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { main } from '../../src/main.js';
import type { Io } from '../../src/cli/io.js';
import { startFixture, type Fixture } from './fixture.js';

/** The guided incident with @inquirer/testing's screen standing in for the terminal. */
let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.stop();
});

function terminalIo(env: Record<string, string | undefined>) {
  const out = { stdout: '', stderr: '' };
  const io: Io = {
    stdout: { write: (s: string) => ((out.stdout += s), true), isTTY: true },
    stderr: { write: (s: string) => ((out.stderr += s), true), isTTY: true },
    stdin: Object.assign(Readable.from([]), { isTTY: true }) as Io['stdin'],
    env: { ...env, NO_COLOR: '1' },
    cwd: process.cwd(),
  };
  return { io, out };
}

/** Poll the screen until it shows `text` (bounded generously: a loaded machine draws slowly). */
async function until(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = screen.getScreen();
    if (typeof text === 'string' ? s.includes(text) : text.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`screen never showed ${text}:\n${s}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('guided incident prompts (@inquirer/testing)', { timeout: 60_000 }, () => {
  it('defaults are right: Enter, Enter, y, Enter revokes the anomalous agent', async () => {
    const { io, out } = terminalIo(f.env);
    const done = main([], io);
    await until('What is happening?');
    expect(screen.getScreen()).toMatch(/❯ Agent stuck in a loop/);
    screen.keypress('enter');
    const agents = await until('Which agent?');
    expect(agents.split('\n').find((l) => l.includes('❯'))).toMatch(/refund-agent/);
    screen.keypress('enter');
    await until(/Revoke vk_id_\w+ now\?/);
    screen.type('y');
    screen.keypress('enter');
    expect(await done).toBe(0);
    expect(out.stderr).toMatch(/done and verified/);
    expect((await f.stage.admin.getVaultKey(f.stage.agentKey.id))?.status).toBe('revoked');
  });

  it('time spent reading at a prompt does not count against --deadline: a slow reader still gets the revoke done', async () => {
    const { io, out } = terminalIo(f.env);
    const done = main(['--deadline', '5s', 'incident'], io);
    await until('What is happening?');
    // The operator takes longer over the two questions than the whole deadline.
    await new Promise((r) => setTimeout(r, 3000));
    screen.keypress('enter');
    await until('Which agent?');
    await new Promise((r) => setTimeout(r, 3000));
    screen.keypress('enter');
    await until(/Revoke vk_id_\w+ now\?/);
    screen.type('y');
    screen.keypress('enter');
    expect(await done, out.stderr).toBe(0);
    expect((await f.stage.admin.getVaultKey(f.stage.agentKey.id))?.status).toBe('revoked');
  });

  it('typing filters the agent list; answering "no" to the confirmation cancels (130) and revokes nothing', async () => {
    const { io } = terminalIo(f.env);
    const done = main(['incident', '--scenario', 'runaway-loop'], io);
    await until('Which agent?');
    screen.type('billing');
    await until(/❯.*billing-webhook/);
    expect(screen.getScreen()).not.toMatch(/refund-agent/);
    screen.keypress('enter');
    await until(/Revoke vk_id_\w+ now\?/);
    screen.type('n');
    screen.keypress('enter');
    expect(await done).toBe(130);
    // The key that was chosen, and every other key, are still active: nothing was revoked.
    const keys = await f.stage.admin.listVaultKeys({});
    const billing = keys.find(
      (k) => (k.policy.labels as Record<string, string> | undefined)?.agent === 'billing-webhook',
    );
    expect(billing?.status).toBe('active');
    expect(keys.filter((k) => k.status === 'revoked')).toEqual([]);
  });
});
