import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { json, startServer, type TestServer } from '../helpers/server.js';
import { storyRows, storyRowsUnmetered } from '../fixtures/damage/story.js';
import { COLUMNS_C6, toSqlite } from '../fixtures/damage/write.js';
import {
  INCIDENT_WITHOUT_REVOKE,
  INCIDENT_WITH_REVOKE,
  journalWithRevoke,
  journalWithoutRevoke,
  writeJournal,
} from '../fixtures/damage/journal.js';

const dir = mkdtempSync(join(tmpdir(), 'tq-pm-'));
const db = join(dir, 'audit.db');
toSqlite(db, storyRows());

function setup(extra: Record<string, string> = {}) {
  const env = isolatedEnv({ TZ: 'UTC', ...extra });
  writeJournal(env.TOURNIQUET_STATE_DIR!, INCIDENT_WITH_REVOKE, journalWithRevoke());
  writeJournal(env.TOURNIQUET_STATE_DIR!, INCIDENT_WITHOUT_REVOKE, journalWithoutRevoke());
  return env;
}

let hook: TestServer | undefined;
afterEach(async () => {
  await hook?.close();
  hook = undefined;
});

describe('tourniquet postmortem', () => {
  it('calls of unknown cost and unknown outcome (C6): in the headline, the damage section and --json; never a bare $0', async () => {
    const c6 = join(dir, 'audit-c6.db');
    toSqlite(c6, storyRowsUnmetered(), COLUMNS_C6);
    const r = await runInProcess(['postmortem', INCIDENT_WITH_REVOKE, '--source', c6], { env: setup() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /\*\*In one line:\*\* [\d,]+ calls, at least \$[\d,.]+ \(17 calls of unknown cost\) allowed spend/,
    );
    expect(r.stdout).toContain('2 calls with outcome unknown (estimated $85.50, not proven)');
    expect(r.stdout).toMatch(
      /\*\*Outcome unknown:\*\* 2 calls forwarded, outcome never recorded \(not proven either way\)/,
    );
    const j = JSON.parse(
      (await runInProcess(['--json', 'postmortem', INCIDENT_WITH_REVOKE, '--source', c6], { env: setup() })).stdout,
    );
    expect(j.damage.outcome_unknown).toEqual({ calls: 2, amount_usd_estimated: 85.5 });
    expect(j.damage.cost_unknown.calls).toBe(17);
  });

  it('with a revoke: timeline in t+ offsets, the decision, the damage around the revoke, two recommendations from the facts', async () => {
    const r = await runInProcess(['postmortem', INCIDENT_WITH_REVOKE, '--source', db], { env: setup() });
    expect(r.code).toBe(0);
    const md = r.stdout;
    expect(md).toMatch(/^# Postmortem: inc_20261121T021900Z_a1b2/);
    expect(md).toMatch(
      /\| t\+0s \| 2026-11-21 02:19:00 UTC \| incident opened \(tourniquet revoke\), scenario agent-loop \|/,
    );
    expect(md).toMatch(/\| t\+1m05s \| .* \| revoked vk_refund_agent/);
    expect(md).toMatch(/\| t\+1m06s \| .* \| verified \(revoke\): every instance answers 401/);
    expect(md).toMatch(/## Decision\n\nrevoke vault key vk_refund_agent\. Why: the agent is looping/);
    expect(md).toMatch(/## Damage: vault key vk_refund_agent/);
    expect(md).toMatch(/\*\*After the revoke:\*\* at 2026-11-21 02:20:05 UTC: 1 in flight, 62 later, none allowed/);
    expect(md).toMatch(/\*\*Anomaly:\*\* from 2026-11-21 02:14 UTC/);
    expect(md).toMatch(
      /1\. \*\*Prevent this failure:\*\* Lower the vault key's calls_per_minute to about 3 .* run at 150\/min/,
    );
    expect(md).toMatch(
      /2\. \*\*Shorten the next incident:\*\* Alert on calls per minute per vault key at 5x baseline .* 6 min before the revoke/,
    );
  });

  it('--json carries the same as data', async () => {
    const r = await runInProcess(['--json', 'postmortem', INCIDENT_WITH_REVOKE, '--source', db], { env: setup() });
    const pm = JSON.parse(r.stdout);
    expect(pm.revoked).toEqual({ at: '2026-11-21T02:20:05.000Z', vault_key_ids: ['vk_refund_agent'] });
    expect(pm.damage.after_revoke).toMatchObject({ in_flight: 1, later: 62 });
    expect(pm.recommendations.prevent.rule).toBe('cap-too-high');
    expect(pm.recommendations.faster.rule).toBe('rate-monitor');
    expect(pm.markdown).toMatch(/^# Postmortem/);
  });

  it('without a revoke (a rotation at the vendor, no audit source): still a write-up, and it says what is missing', async () => {
    const r = await runInProcess(['postmortem', INCIDENT_WITHOUT_REVOKE], { env: setup() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/## Damage\n\nNo audit source configured/);
    expect(r.stdout).toMatch(/\| t\+3m20s \| .* \| rotate production key uk_stripe_live: done \|/);
    expect(r.stdout).toMatch(
      /Shorten the next incident:\*\* Put a proxy with per-agent vault keys in front of this vendor and revoke there/,
    );
    expect(r.stdout).not.toMatch(/After the revoke/);
  });

  it('damage reads the incident journal for the revoke time: `damage --incident`', async () => {
    const env = setup();
    const withRevoke = JSON.parse(
      (await runInProcess(['damage', '--json', '--source', db, '--incident', INCIDENT_WITH_REVOKE], { env })).stdout,
    );
    expect(withRevoke.after_revoke).toEqual({
      revoked_at: '2026-11-21T02:20:05.000Z',
      in_flight: 1,
      later: 62,
      later_allowed: 0,
    });
    expect(withRevoke.filter).toEqual({ vault_key_id: 'vk_refund_agent' });
    const without = await runInProcess(['damage', '--json', '--source', db, '--incident', INCIDENT_WITHOUT_REVOKE], {
      env,
    });
    expect(JSON.parse(without.stdout).after_revoke).toBeNull();
    expect(without.stderr).toMatch(/has no revoke in its journal/);
  });

  it('`damage --incident` without a window looks an hour back from t=0 and 5 minutes past the last entry', async () => {
    const s = JSON.parse(
      (await runInProcess(['damage', '--json', '--source', db, '--incident', INCIDENT_WITH_REVOKE], { env: setup() }))
        .stdout,
    );
    expect(s.window).toEqual({ from: '2026-11-21T01:19:00.000Z', to: '2026-11-21T02:25:07.000Z' });
    const narrowed = JSON.parse(
      (
        await runInProcess(
          [
            'damage',
            '--json',
            '--source',
            db,
            '--incident',
            INCIDENT_WITH_REVOKE,
            '--since',
            '10m',
            '--to',
            '2026-11-21T02:21:00Z',
          ],
          { env: setup() },
        )
      ).stdout,
    );
    expect(narrowed.window).toEqual({ from: '2026-11-21T02:11:00.000Z', to: '2026-11-21T02:21:00.000Z' });
    expect(narrowed.after_revoke.revoked_at).toBe('2026-11-21T02:20:05.000Z');
  });

  it('an unknown incident is exit 4', async () => {
    const r = await runInProcess(['postmortem', 'inc_20990101T000000Z_ffff'], { env: setup() });
    expect(r.code).toBe(4);
  });

  it('--notify posts the summary to the webhook, and never prints the webhook URL', async () => {
    const posted: string[] = [];
    hook = await startServer((req, res) => {
      posted.push(req.body);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    const url = `${hook.url}/services/T000/B000/XXXXsecretXXXXwebhook`;
    const r = await runInProcess(
      ['postmortem', INCIDENT_WITH_REVOKE, '--source', db, '--notify', '-o', join(dir, 'pm.md')],
      { env: setup({ TOURNIQUET_WEBHOOK_URL: url }) },
    );
    expect(r.code).toBe(0);
    expect(posted).toHaveLength(1);
    expect(hook.requests[0]!.headers['content-type']).toBe('application/json');
    const text = JSON.parse(posted[0]!).text as string;
    expect(text).toMatch(/Postmortem draft inc_20261121T021900Z_a1b2/);
    expect(text).toMatch(/1,006 calls \(926 allowed\), \$38,448.04 across 7 customers/);
    expect(text).toMatch(/After the revoke: 1 in flight, 62 later \(0 allowed\)/);
    expect(readFileSync(join(dir, 'pm.md'), 'utf8')).toMatch(/^# Postmortem/);
    expect(r.stdout + r.stderr).not.toContain('XXXXsecretXXXXwebhook');
  });

  it('a webhook that refuses is exit 1 (the write-up is still printed), with the URL kept out of the message', async () => {
    hook = await startServer((_req, res) => json(res, 500, { error: 'boom' }));
    const url = `${hook.url}/services/T000/B000/YYYYsecretYYYY`;
    const r = await runInProcess(['postmortem', INCIDENT_WITHOUT_REVOKE, '--notify'], {
      env: setup({ TOURNIQUET_WEBHOOK_URL: url }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^# Postmortem/);
    expect(r.stderr).toMatch(/webhook at 127\.0\.0\.1:\d+ answered HTTP 500/);
    expect(r.stdout + r.stderr).not.toContain('YYYYsecretYYYY');
  });

  it('--notify without a webhook is a usage error', async () => {
    const r = await runInProcess(['postmortem', INCIDENT_WITHOUT_REVOKE, '--notify'], { env: setup() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/webhook_url/);
  });
});
