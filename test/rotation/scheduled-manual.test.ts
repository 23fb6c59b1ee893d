import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ADMIN_TOKEN, startHarness, type Harness } from '../proxy/helpers.js';
import { BIN, isolatedEnv, runInProcess } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';

/**
 * What docs/scheduled-rotation.md promises about a vendor whose old key is deleted by hand: an
 * unattended scheduled run (--yes, no terminal) rotates at the proxy, leaves the deletion undone
 * and says so (exit 6, the step named, `manual-pending` in the evidence); every later scheduled
 * run resumes that incident and ends 6 again; a person at a terminal finishes it with
 * `tourniquet resume`, and only then does the schedule look at key ages again.
 */
let h: Harness;
let term: Terminal | undefined;
beforeAll(async () => {
  h = await startHarness();
});
afterEach(() => {
  term?.close();
  term = undefined;
});
afterAll(async () => h.stop());

/** The vendor's active production key as if the proxy had held it for `days`. */
function age(vendor: string, days: number, on = h): void {
  const db = new Database(on.dbPath);
  try {
    db.prepare(`UPDATE upstream_keys SET created_at = ? WHERE vendor = ? AND state = 'active'`).run(
      new Date(Date.now() - days * 86_400_000).toISOString(),
      vendor,
    );
  } finally {
    db.close();
  }
}

/** The vendor's production keys at the proxy: id and state. */
const keys = async (vendor: string, on = h): Promise<Array<{ id: string; state: string }>> =>
  ((await on.admin('GET', `/v1/upstream-keys?vendor=${vendor}`)).body.data as Array<{ id: string; state: string }>).map(
    ({ id, state }) => ({ id, state }),
  );

/** The GitHub step outputs a run wrote (name=value lines). */
const outputs = (file: string) =>
  Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

const deleteOld = (evidence: { steps: Array<{ title: string; state: string; how?: string }> }) =>
  evidence.steps.find((s) => s.title.startsWith('delete the old key'))!;

describe('an unattended scheduled rotation whose old key must be deleted by hand', () => {
  it('Stripe: exit 6 with the step named, again on every scheduled run, until a person resumes it at a terminal', async () => {
    age('stripe', 100);
    const ghOut = join(h.dir, 'github-output');
    writeFileSync(ghOut, '');
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_STRIPE_BASE_URL: h.sandbox.urls.stripe,
      TOURNIQUET_ROTATION_MAX_AGE: '90d',
      GITHUB_OUTPUT: ghOut,
    });
    const old = (await keys('stripe')).find((k) => k.state === 'active')!;
    const fresh = h.sandbox.stripe.createKey('rotated in the dashboard');
    const file = join(h.dir, 'new-stripe-key.txt');
    writeFileSync(file, fresh.secret + '\n');

    // Night 1: rotated at the proxy, the deletion left to a person.
    const first = await runInProcess(['rotate', 'stripe', '--if-due', '--yes', '--new-key-file', file], { env });
    expect(first.code, first.stderr).toBe(6);
    expect(first.stderr).toContain(
      'NOT DONE, left to do by hand: delete the old Stripe key in the dashboard (an unattended run: --yes does not confirm what a person must do)',
    );
    expect(first.stderr).toContain('dashboard.stripe.com/apikeys');
    expect(first.stderr).toMatch(/rotation partial: \d+ probe calls through the proxy, 0 failed \(incident inc_\w+\)/);
    const out = outputs(ghOut);
    // `rotated` is true only for a finished rotation: here the proxy has switched, the run is not finished.
    expect(out).toMatchObject({ status: 'partial', rotated: 'false', verified: 'false', failed_probe_calls: '0' });
    const evidence = JSON.parse(readFileSync(out.evidence!, 'utf8'));
    expect(deleteOld(evidence).state).toBe('manual-pending');
    expect(evidence.steps.filter((s: { state: string }) => s.state === 'failed')).toEqual([]);
    const after = await keys('stripe');
    expect(after.find((k) => k.id === old.id)!.state).toBe('retired');
    const fresher = after.find((k) => k.state === 'active')!;
    expect(fresher.id).not.toBe(old.id);

    // Night 2: the schedule resumes the same incident before looking at ages, and ends 6 again.
    const second = await runInProcess(['rotate', 'stripe', '--if-due', '--yes', '--json'], { env });
    expect(second.code, second.stderr).toBe(6);
    expect(second.stderr).toContain(`resuming the scheduled rotation ${out.incident}`);
    const again = JSON.parse(second.stdout);
    expect(again).toMatchObject({ outcome: 'partial', incident_id: out.incident, exit_code: 6 });
    expect(deleteOld(again).state).toBe('manual-pending');
    expect(await keys('stripe')).toEqual(after); // nothing rotated twice

    // A person deletes the key in the dashboard and confirms it at a terminal: done, exit 0.
    term = new Terminal(
      `${process.execPath} ${BIN} resume ${out.incident}`,
      { ...env, GITHUB_OUTPUT: undefined, TERM: 'xterm-256color', NO_COLOR: '1' },
      { width: 130, height: 50 },
    );
    await term.waitFor(/Has the old Stripe key been deleted \(or expired\) in the dashboard\?/, 20_000);
    term.type('y');
    term.send('Enter');
    expect(await term.exitCode(20_000)).toBe(0);

    // Night 3: nothing left to resume; the new key is not due.
    const third = await runInProcess(['rotate', 'stripe', '--if-due', '--yes'], { env });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/nothing due: stripe key \w+ is 0 days old/);
  }, 90_000);

  it('Twilio: moving off the account auth token to an API key leaves the token by hand (6); --auth-token does not (0)', async () => {
    const twilioEnv = (on: Harness) =>
      isolatedEnv({
        TOURNIQUET_PROXY_URL: on.proxy.adminUrl,
        TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
        TOURNIQUET_TWILIO_BASE_URL: on.sandbox.urls.twilio,
        TOURNIQUET_TWILIO_ACCOUNTS_BASE_URL: on.sandbox.twilio.accountsUrl,
        TOURNIQUET_TWILIO_ACCOUNT_SID: on.sandbox.keys.twilio.account_sid,
        TOURNIQUET_TWILIO_ADMIN_KEY: 'env:TWILIO_AUTH',
        TWILIO_AUTH: on.sandbox.twilio.authToken,
        TOURNIQUET_ROTATION_MAX_AGE: '90d',
      });
    // The proxy's Twilio key is the account's auth token (from its config); the default rotation makes an API key.
    age('twilio', 100);
    const apiKey = await runInProcess(['rotate', 'twilio', '--if-due', '--yes', '--json'], { env: twilioEnv(h) });
    expect(apiKey.code, apiKey.stderr).toBe(6);
    const pending = deleteOld(JSON.parse(apiKey.stdout));
    expect(pending.state).toBe('manual-pending');
    expect(pending.how).toMatch(/^NOT DONE, left to do by hand: delete the old Twilio key in the dashboard/);

    // --auth-token rotates the token itself: the old one is retired by Twilio's API (promote), nothing by hand.
    const other = await startHarness();
    try {
      age('twilio', 100, other);
      const token = await runInProcess(
        [
          'rotate',
          'twilio',
          '--auth-token',
          '--if-due',
          '--yes',
          '--json',
          '--tail-timeout',
          '5',
          '--tail-interval',
          '20',
        ],
        { env: twilioEnv(other) },
      );
      expect(token.code, token.stderr).toBe(0);
      expect(JSON.parse(token.stdout).steps.map((s: { state: string }) => s.state)).not.toContain('manual-pending');
    } finally {
      await other.stop();
    }
  }, 90_000);
});
