import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, isolatedEnv } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';
import { startRealAs, type RealAs } from './provider.js';

let as: RealAs;
let term: Terminal | undefined;
beforeAll(async () => {
  as = await startRealAs();
});
afterAll(async () => as.close());
afterEach(() => {
  term?.close();
  term = undefined;
});

describe('oauth at a real terminal (tmux, built CLI, real oidc-provider)', () => {
  it('asks for the token with a masked prompt, never echoes it, revokes after y, verifies', async () => {
    const token = await as.issueToken();
    const env = isolatedEnv({
      TERM: 'xterm-256color',
      NO_COLOR: '1',
      TOURNIQUET_OAUTH_ISSUER: as.issuer,
      TOURNIQUET_OAUTH_CLIENT_ID: as.clientId,
      TOURNIQUET_OAUTH_CLIENT_SECRET: as.clientSecret,
    });
    term = new Terminal(`${process.execPath} ${BIN} oauth revoke`, env, { width: 200, height: 40 });
    await term.waitFor('Token (input hidden)');
    term.type(token);
    term.send('Enter');
    await term.waitFor('Revoke this token');
    term.type('y');
    term.send('Enter');
    expect(await term.exitCode()).toBe(0);
    const screen = term.screen();
    expect(screen).toContain('verified: introspection answers active:false');
    expect(screen).not.toContain(token);
    expect(screen).not.toContain(token.slice(0, 12));
    expect(screen).not.toContain(as.clientSecret);
  });
});
