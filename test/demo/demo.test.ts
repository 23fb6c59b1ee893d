import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { BIN, isolatedEnv, runBuilt, runInProcess } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';

const refused = (url: string) =>
  new Promise<boolean>((resolve) => {
    const u = new URL(url);
    const s = connect(Number(u.port), u.hostname);
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

let term: Terminal | undefined;
afterEach(() => {
  term?.close();
  term = undefined;
});

/** The figures a person reads off the screen, each where the demo prints it. */
function figures(screen: string) {
  const one = (re: RegExp) => {
    const m = re.exec(screen);
    if (!m) throw new Error(`not on the screen: ${re}\n${screen}`);
    return m;
  };
  const picker = one(/refund-agent\s+(\d+)\/min\s+(\d+)x baseline/);
  const plan = one(
    /At (\d+) calls\/min, rotating the production key would let about (\d+) more calls through \(the vendor's p95 propagation\s+tail, 3m12s; (\d+) at the median\)/,
  );
  const after = one(
    /After revoke at [^:]+:\d\d:\d\d UTC: (\d+) in flight, (\d+) later, (none allowed|(\d+) of them allowed)/,
  );
  const table = one(/refunds leaked after the stop\s+(\d+)\s+(\d+)/);
  return {
    pickerRate: Number(picker[1]),
    multiple: Number(picker[2]),
    planRate: Number(plan[1]),
    p95: Number(plan[2]),
    median: Number(plan[3]),
    baseline: Number(one(/Anomaly\s+from [^(]+\(baseline ([\d.]+)\/min before it\)/)[1]),
    inFlight: Number(after[1]),
    laterAllowed: after[4] ? Number(after[4]) : 0,
    leakedA: Number(table[1]),
    leakedB: Number(table[2]),
    incident: one(/tourniquet postmortem (inc_\d{8}T\d{6}Z_[0-9a-f]{4})/)[1]!,
    interval: one(/the agent refunds every 400ms \((\d+)ms on this run's clock/)[1],
  };
}

/** One definition each: rate, baseline, leaked, money. */
function expectOneStory(f: ReturnType<typeof figures>, screen: string) {
  // At most seed 002's one refund per 400 ms, as narrated (a loaded machine may manage fewer: the picker says what was measured)
  expect(f.pickerRate).toBeGreaterThan(10);
  expect(f.pickerRate).toBeLessThanOrEqual(165);
  expect(f.planRate).toBe(f.pickerRate); // the plan's estimate is built on the rate the picker showed
  expect(f.multiple).toBe(Math.round(f.pickerRate / f.baseline)); // the multiple is of the damage summary's baseline
  expect(f.baseline).toBe(1);
  expect(f.p95).toBe(Math.floor((f.planRate / 60) * 192 + 1e-9));
  expect(f.median).toBe(Math.floor((f.planRate / 60) * 45 + 1e-9));
  expect(f.leakedA).toBe(f.inFlight + f.laterAllowed); // the table counts what the damage summary counts
  expect(screen).not.toMatch(/Anomaly\s+none found/);
  expect(screen).not.toMatch(/\$\d{4,}\.\d\d/); // one money format: $2,832.00, never $2832.00
  expect(screen).toMatch(/\$\d{1,3}(,\d{3})+\.\d\d/);
}

describe('tourniquet demo, as a script runs it (no terminal)', () => {
  it('--json: both paths measured, one story, the incident kept, and the suggested postmortem works', async () => {
    // Given an empty temp directory and a fresh state directory
    const tmp = mkdtempSync(join(tmpdir(), 'tq-demo-tmp-'));
    const env = isolatedEnv({ TMPDIR: tmp });
    // When the built CLI runs the demo with a deterministic (median) vendor tail
    const r = await runBuilt(['demo', '--json', '--tail-mode', 'median'], { env, timeoutMs: 60_000 });
    // Then it succeeds and prints the documented JSON
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ time_scale: 0.05, agent_interval_ms: 20, agent_rate_per_minute: 150 });
    expect(j.path_a.stopped && j.path_b.stopped).toBe(true);
    expect(j.path_a.other_consumers_broken).toBe(0);
    expect(j.path_b.other_consumers_broken).toBe(2);
    // Stripe's 45 s median tail × 0.05 = 2.25 s at one refund per 20 ms: about 112 leaked refunds
    expect(j.path_b.time_to_stop_ms).toBeGreaterThanOrEqual(2000);
    expect(j.path_b.leaked_calls).toBeGreaterThan(60);
    expect(j.path_b.leaked_calls).toBeGreaterThan(j.path_a.leaked_calls * 20);
    // One story: the rate the incident measured, its estimate, the damage and the leak agree
    const inc = j.incident;
    expect(inc.verified).toBe(true);
    expect(inc.rate_per_minute).toBeGreaterThan(10);
    expect(inc.rate_per_minute).toBeLessThanOrEqual(165);
    expect(inc.leak_estimate.rate_per_s * 60).toBeCloseTo(inc.rate_per_minute, 0);
    expect(inc.damage.baseline_per_minute).toBe(1);
    expect(inc.damage.anomaly_start).not.toBeNull();
    expect(j.path_a.leaked_calls).toBe(inc.damage.after_revoke.in_flight + inc.damage.after_revoke.later_allowed);
    // The temp dir is empty again; the incident is kept in the state directory
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(inc.kept.journal) && existsSync(inc.kept.audit)).toBe(true);
    // And the next move it suggests works, with the damage and its chart, though the demo's proxy is gone
    const pm = await runInProcess(inc.postmortem.split(' ').slice(1), { env });
    expect(pm.code, pm.stderr).toBe(0);
    expect(pm.stdout).toMatch(/## Damage: vault key vk_id_\w+/);
    expect(pm.stdout).toMatch(/\*\*Anomaly:\*\* from .*\(baseline 1\/min before it\)/);
    expect(pm.stdout).toMatch(/```mermaid\nxychart-beta/);
    expect(pm.stdout).not.toMatch(/No audit source/);
  }, 90_000);

  it('without a terminal it narrates on stderr, prints the comparison on stdout, and closes every server', async () => {
    const r = await runInProcess(['demo', '--time-scale', '0.02', '--tail-mode', 'median', '--runaway-ms', '500']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/automatic/);
    expect(r.stderr).toMatch(/Which agent\? → refund-agent/);
    expect(r.stderr).toMatch(/revoke vault key vk_id_\w+/);
    expect(r.stderr).toMatch(/verified: refused by 1 instance/);
    expect(r.stderr).toMatch(/Next\n\s+1\. Tell the agent's runner/);
    expect(r.stdout).toMatch(/The same incident, two ways/);
    expect(r.stdout).toMatch(/other consumers broken\s+0 of 2\s+2 of 2/);
    // eslint-disable-next-line no-control-regex -- ESC is what must be absent when piped
    expect(r.stdout).not.toMatch(/\u001b\[/);
    // The servers it started are gone.
    const urls = [...r.stderr.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const u of urls) expect(await refused(u)).toBe(true);
  }, 60_000);

  it('--store memory runs the same story without SQLite, and says so', async () => {
    const r = await runInProcess([
      'demo',
      '--json',
      '--store',
      'memory',
      '--time-scale',
      '0.02',
      '--tail-mode',
      'median',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ store: 'memory', incident: { verified: true } });
    expect(r.stderr).toMatch(/store: in memory/);
  }, 60_000);

  it('Ctrl-C (SIGINT) in the middle of the slow path: exit 130, servers stopped, temp dir gone (how fast: npm run bench -- timing)', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tq-demo-tmp-'));
    const child = spawn(process.execPath, [BIN, 'demo', '--tail-mode', 'p95', '--runaway-ms', '300'], {
      env: isolatedEnv({ TMPDIR: tmp }),
    });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => ((err += d), /key deleted at the vendor/.test(err) && resolve())),
    );
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    // Stopped by the demo itself (the message), not by bin's 5-second fallback exit.
    expect(err).toMatch(/cancelled by the operator/);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);

  it('rejects a bad --time-scale with exit 2', async () => {
    const r = await runInProcess(['demo', '--time-scale', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--time-scale/);
  });
});

describe('tourniquet demo at a real terminal (tmux, 120 columns)', () => {
  it('guided: Enter, Enter, y revokes; every figure agrees with the others; no token split; the suggested postmortem runs', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tq-demo-tmp-'));
    const env = isolatedEnv({ TERM: 'xterm-256color', NO_COLOR: '1', TMPDIR: tmp, TZ: 'UTC' });
    term = new Terminal(`${process.execPath} ${BIN} demo --tail-mode median`, env, { width: 120, height: 200 });
    await term.waitFor('What is happening?', 20_000);
    expect(term.screen()).toMatch(/Enter takes the suggested answer; the revoke itself needs a y/);
    term.send('Enter');
    // The picker's line is replaced by the answer once chosen: read it while it is on the screen.
    const picker = await term.waitFor(/refund-agent\s+\d+\/min\s+\d+x baseline/);
    term.send('Enter');
    await term.waitFor(/Revoke vk_id_\w+ now\?.*\(y\/N\)/);
    term.send('y', 'Enter');
    const screen = await term.waitFor('[exit', 60_000);
    expect(screen).toMatch(/\[exit 0\]/);
    expect(screen).toMatch(/other consumers broken\s+0 of 2\s+2 of 2/);
    expect(screen).toMatch(/✔ Which agent\? .*refund-agent \(vk_id_\w+\)/);
    const f = figures(picker + screen);
    expectOneStory(f, picker + screen);
    // Wrapping happens between words: every id on the screen is whole on one line.
    const ids = [...screen.matchAll(/vk_id_[A-Za-z0-9]{16}|inc_\d{8}T\d{6}Z_[0-9a-f]{4}/g)].map((m) => m[0]);
    expect(ids.length).toBeGreaterThan(4);
    expect(screen).not.toMatch(/vk_\n|vk_id_[A-Za-z0-9]{1,15}\n/);
    expect(readdirSync(tmp)).toEqual([]);
    // The next move it suggested, run as the operator would
    const pm = await runBuilt(['postmortem', f.incident], { env });
    expect(pm.code, pm.stderr).toBe(0);
    expect(pm.stdout).toMatch(
      new RegExp(`After the revoke:\\*\\* at [^:]+:\\d\\d:\\d\\d UTC: ${f.inFlight} in flight`),
    );
  }, 120_000);

  it('automatic at a terminal, JSON to a file: the screen and --json tell the same figures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-demo-json-'));
    const out = join(dir, 'demo.json');
    const env = isolatedEnv({ TERM: 'xterm-256color', NO_COLOR: '1', TZ: 'UTC' });
    term = new Terminal(`${process.execPath} ${BIN} demo --auto --tail-mode median --json > ${out}`, env, {
      width: 120,
      height: 200,
    });
    const screen = await term.waitFor('[exit', 60_000);
    expect(screen).toMatch(/\[exit 0\]/);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    const auto = /Which agent\? → refund-agent \((\d+)\/min, (\d+)x baseline\)/.exec(screen)!;
    const plan = /At (\d+) calls\/min, rotating the production key would let about (\d+) more calls/.exec(screen)!;
    expect(Number(auto[1])).toBe(j.incident.rate_per_minute);
    expect(Number(plan[1])).toBe(j.incident.rate_per_minute);
    expect(Number(plan[2])).toBe(j.incident.leak_estimate.rotate.p95_calls);
    expect(Number(auto[2])).toBe(Math.round(j.incident.rate_per_minute / j.incident.damage.baseline_per_minute));
    const after = /After revoke at [^:]+:\d\d:\d\d UTC: (\d+) in flight/.exec(screen)!;
    expect(Number(after[1])).toBe(j.incident.damage.after_revoke.in_flight);
    expect(j.path_a.leaked_calls).toBe(
      j.incident.damage.after_revoke.in_flight + j.incident.damage.after_revoke.later_allowed,
    );
    expect(screen).toContain(`tourniquet postmortem ${j.incident.id}`);
    expect(screen).toMatch(new RegExp(`Calls\\s+${j.incident.damage.calls_total.toLocaleString('en-US')} total`));
  }, 90_000);
});
