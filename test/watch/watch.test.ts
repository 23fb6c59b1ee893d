import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, isolatedEnv } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import { startFixture, type Fixture } from '../incident/fixture.js';
import { startStage, type DemoStage } from '../../src/core/demo/stage.js';
import { AlertState } from '../../src/core/watch.js';
import { toKeyRate } from '../../src/core/incident/rates.js';
import { BASELINE_PER_MINUTE } from '../../src/core/demo/baseline.js';

describe('watch against a proxy with a runaway agent', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(async () => {
    await f.stop();
  });

  it('--once --json: the runaway key first, above 5x its baseline; exit 7', async () => {
    const r = await runInProcess(['watch', '--once', '--json'], { env: f.env });
    expect(r.code, r.stderr).toBe(7);
    const s = JSON.parse(r.stdout);
    expect(s.anomalies.map((k: { vault_key_id: string }) => k.vault_key_id)).toEqual([f.stage.agentKey.id]);
    expect(s.keys[0]).toMatchObject({ vault_key_id: f.stage.agentKey.id, agent: 'refund-agent', anomalous: true });
    expect(s.keys[0].multiple).toBeGreaterThanOrEqual(5);
    expect(s.keys[0].baseline_per_minute).toBe(BASELINE_PER_MINUTE); // the demo stage's hour of history
    expect(s.keys.slice(1).every((k: { anomalous: boolean }) => !k.anomalous)).toBe(true);
  });

  it('--once as text: a table with the anomalous key marked', async () => {
    const r = await runInProcess(['watch', '--once'], { env: f.env });
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/1 above 5x baseline/);
    expect(r.stdout).toMatch(/!\s+refund-agent\s+vk_id_\w+\s+stripe/);
  });

  it('a higher --threshold finds nothing: exit 0', async () => {
    const r = await runInProcess(['watch', '--once', '--json', '--threshold', '100000'], { env: f.env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).anomalies).toEqual([]);
  });

  it('not at a terminal: one JSON line per interval; --notify posts one alert per key, not one per sample', async () => {
    const hook = await startServer((_req, res) => {
      res.end('ok');
    });
    try {
      const r = await runInProcess(['watch', '--interval', '200ms', '--count', '3', '--notify'], {
        env: { ...f.env, TOURNIQUET_WEBHOOK_URL: `${hook.url}/hooks/T000/B000/secret` },
      });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(3);
      for (const l of lines) expect(JSON.parse(l).anomalies).toEqual([f.stage.agentKey.id]);
      expect(hook.requests).toHaveLength(1);
      const text = JSON.parse(hook.requests[0]!.body).text as string;
      expect(text).toMatch(/1 vault key above 5x baseline/);
      expect(text).toContain(`tourniquet incident --scenario runaway-loop --vault-key ${f.stage.agentKey.id}`);
      expect(r.stderr).not.toContain('/hooks/T000/B000/secret');
    } finally {
      await hook.close();
    }
  });
});

describe('watch against a calm proxy', () => {
  let stage: DemoStage;
  beforeAll(async () => {
    stage = await startStage({ timeScale: 0.001, tailMode: 'median' });
  });
  afterAll(async () => {
    await stage.stop();
  });

  it('--once: every key under its threshold, exit 0', async () => {
    const r = await runInProcess(['watch', '--once', '--json'], { env: { ...isolatedEnv(), ...stage.env } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keys.length).toBe(3);
  });

  it('no proxy configured: exit 2 naming what to set', async () => {
    const r = await runInProcess(['watch', '--once'], { env: isolatedEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TOURNIQUET_PROXY_URL/);
  });
});

describe('alert state', () => {
  it('fires when a key crosses, not again while it stays above, again after it came back down', () => {
    const hot = toKeyRate({ vault_key_id: 'vk_1', calls_per_minute: 100, baseline_per_minute: 2, status: 'active' }, 5);
    const a = new AlertState();
    expect(a.update([hot])).toHaveLength(1);
    expect(a.update([hot])).toHaveLength(0);
    expect(a.update([])).toHaveLength(0);
    expect(a.update([hot])).toHaveLength(1);
  });

  it('a key without a baseline is never called anomalous; a revoked one neither', () => {
    expect(toKeyRate({ vault_key_id: 'vk', calls_per_minute: 500, baseline_per_minute: 0 }, 5).anomalous).toBe(false);
    expect(
      toKeyRate({ vault_key_id: 'vk', calls_per_minute: 500, baseline_per_minute: 1, status: 'revoked' }, 5).anomalous,
    ).toBe(false);
  });
});

describe('watch at a real terminal', () => {
  it('redraws a live table with a trend per key (tmux)', async () => {
    const { Terminal } = await import('../helpers/tmux.js');
    const { BIN } = await import('../helpers/cli.js');
    const f = await startFixture();
    const term = new Terminal(
      `${process.execPath} ${BIN} watch --interval 300ms --count 4`,
      { ...f.env, TERM: 'xterm-256color', NO_COLOR: '1' },
      { width: 140, height: 30 },
    );
    try {
      const screen = await term.waitFor(/Ctrl-C to stop/);
      expect(screen).toMatch(/1 above 5x baseline/);
      expect(screen).toMatch(
        /!\s+refund-agent\s+vk_id_\w+\s+stripe\s+\d+\s+1(\.\d+)?\s+[\d.]+x baseline\s+\$[\d,.]+\s+[▁-█]+/,
      );
      const end = await term.waitFor('[exit');
      expect(end).toMatch(/\[exit 0\]/);
      expect(end).toMatch(/refund-agent.*[▁-█]{4}/);
      expect(end.match(/Ctrl-C to stop/g)).toHaveLength(1); // redrawn in place, not appended
    } finally {
      term.close();
      await f.stop();
    }
  });

  it('Ctrl-C (SIGINT) ends a running watch cleanly with exit 130 (cancelled by the operator)', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers/cli.js');
    const f = await startFixture();
    try {
      const child = spawn(process.execPath, [BIN, 'watch', '--interval', '10s'], { env: f.env });
      let out = '';
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise<void>((resolve) => child.stdout.on('data', (d) => ((out += d), resolve())));
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      // Stopped by the command itself (the line), not by bin's 5-second fallback exit.
      expect(err).toContain('watch: stopped (Ctrl-C)');
      expect(JSON.parse(out.trim().split('\n')[0]!).anomalies).toEqual([f.stage.agentKey.id]);
    } finally {
      await f.stop();
    }
  });
});
