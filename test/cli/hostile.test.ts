import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess, type CliResult } from '../helpers/cli.js';
import {
  HOSTILE_MODES,
  HOSTILE_TOKEN,
  hostileCommands,
  startHostile,
  type Hostile,
  type HostileMode,
} from '../helpers/hostile.js';

/**
 * Every networked command against a hostile admin API (test/helpers/hostile.ts), in every mode:
 * the exit code the README's table promises, an error naming the endpoint, `verified` never true,
 * and the other host (a redirect's target, a rogue instance) never sent the admin token. A hang
 * or an endless drip can only end by our deadlines: the test's own timeout is the bound, and
 * the times are measured by `npm run bench -- hostile`.
 */
const dir = mkdtempSync(join(tmpdir(), 'tq-hostile-'));
const newKeyFile = join(dir, 'new-key.txt');
writeFileSync(newKeyFile, 'sk_test_' + 'n'.repeat(30) + '\n');

export const COMMANDS = hostileCommands(newKeyFile);
type Cmd = keyof typeof COMMANDS;

/** A step failed (1); doctor reports it as a check that found a problem (7). */
const failed: Record<Cmd, number> = {
  revoke: 1,
  rotate: 1,
  issue: 1,
  doctor: 7,
  'watch --once': 1,
  'damage --source proxy': 1,
  drill: 1,
  'incident --yes': 1,
};
const refused = Object.fromEntries(Object.keys(COMMANDS).map((c) => [c, 3])) as Record<Cmd, number>;

/** README, "Exit codes": what each command must exit with against each mode. */
export const EXPECTED: Record<(typeof HOSTILE_MODES)[number], Record<Cmd, number>> = {
  'html-502': failed,
  'truncated-json': failed,
  'wrong-shape': failed,
  hang: failed,
  'slow-drip': failed,
  'endless-drip': failed,
  redirect: failed,
  '401': refused,
  '403': refused,
  // The rogue instance is not trusted: never asked, so never verified (5); rotate finds no active key in this fake (4).
  'foreign-instance': {
    revoke: 5,
    rotate: 4,
    issue: 0,
    doctor: 7,
    'watch --once': 0,
    'damage --source proxy': 0,
    drill: 7,
    'incident --yes': 5,
  },
  // C1: the revoke is refused but never durable: partly done (6).
  'not-durable': {
    revoke: 6,
    rotate: 4,
    issue: 0,
    doctor: 7,
    'watch --once': 0,
    'damage --source proxy': 0,
    drill: 6,
    'incident --yes': 6,
  },
};

/** What the error must say, by mode (the endpoint is named in every one). */
const SAYS: Partial<Record<HostileMode, RegExp>> = {
  'html-502': /HTTP 502 with an HTML page instead of JSON/,
  'truncated-json': /not valid JSON \(\d+ bytes, looks truncated\)/,
  'wrong-shape': /unexpected answer: body(\.\w+)*: no \\?"\w+/,
  hang: /no complete answer within 1 s|deadline of 5 s \(--deadline\) passed/,
  'slow-drip': /no complete answer within 1 s|deadline of 5 s \(--deadline\) passed/,
  'endless-drip': /no complete answer within 1 s|deadline of 5 s \(--deadline\) passed/,
  redirect: /redirected \(HTTP 307\) to http:\/\/127\.0\.0\.2:\d+\/v1\/[\w/-]+; not followed/,
  '401': /refused our credentials \(HTTP 401\)/,
  '403': /refused our credentials \(HTTP 403\): insufficient_scope/,
  'foreign-instance': /not trusted/,
  'not-durable': /could not make the revoke durable \(revoke_not_durable/,
};

/** Every `"verified": …` anywhere in a JSON document. */
function verifiedFlags(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(verifiedFlags);
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === 'verified' ? [v] : verifiedFlags(v)));
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export async function runAgainst(h: Hostile, cmd: Cmd): Promise<CliResult & { ms: number }> {
  const env = isolatedEnv({
    TOURNIQUET_PROXY_URL: h.url,
    TOURNIQUET_ADMIN_TOKEN: HOSTILE_TOKEN,
    TOURNIQUET_TIMEOUT_MS: '1000',
  });
  const started = performance.now();
  // The modes that hang or drip end by timeout_ms (1 s) or this deadline; the others get room,
  // so that a busy machine never turns their own error into the deadline's.
  const slow = ['hang', 'slow-drip', 'endless-drip', 'not-durable'].includes(h.mode);
  const r = await runInProcess(['--deadline', slow ? '5s' : '30s', ...COMMANDS[cmd]!], { env });
  return { ...r, ms: Math.round(performance.now() - started) };
}

describe.each(HOSTILE_MODES)('against a hostile admin API: %s', (mode) => {
  let h: Hostile;
  beforeAll(async () => {
    h = await startHostile(mode);
  });
  afterAll(async () => h.close());

  it.concurrent.each(Object.keys(COMMANDS))(
    '%s: the documented exit code, never verified, the token never elsewhere',
    async (cmd) => {
      const r = await runAgainst(h, cmd);
      const why = `${mode} × ${cmd} after ${r.ms} ms\n${r.stderr}\n${r.stdout}`;
      expect(r.code, why).toBe(EXPECTED[mode][cmd]);
      expect(r.stderr + r.stdout, why).not.toMatch(/internal error|is not a function|Cannot read properties/);
      const out = parse(r.stdout);
      if (cmd !== 'watch --once' || r.code !== 0) expect(out, `--json prints JSON on stdout\n${why}`).toBeDefined();
      expect(verifiedFlags(out), why).not.toContain(true);
      if (r.code !== 0) {
        const said = r.stderr + r.stdout;
        // This fake holds no production key: rotate stops there, before anything this mode perturbs.
        expect(said, why).toMatch(
          cmd === 'rotate' && EXPECTED[mode][cmd] === 4 ? /no active stripe production key/ : SAYS[mode]!,
        );
        if (mode !== 'foreign-instance' && mode !== 'not-durable')
          expect(said, why).toMatch(/\((GET|POST|DELETE) http:\/\/127\.0\.0\.1:\d+\/v1\/[\w/.-]*\)/);
      }
      expect(h.other.requests, `the other host was contacted\n${why}`).toEqual([]);
      expect(r.stdout + r.stderr).not.toContain(HOSTILE_TOKEN);
    },
    60_000,
  );
});

describe('the same admin API answering correctly (the fake itself is sound)', () => {
  let h: Hostile;
  beforeAll(async () => {
    h = await startHostile('valid');
  });
  afterAll(async () => h.close());

  it.concurrent.each(['revoke', 'issue', 'watch --once', 'damage --source proxy', 'incident --yes'] as Cmd[])(
    '%s exits 0',
    async (cmd) => {
      const r = await runAgainst(h, cmd);
      expect(r.code, r.stderr + r.stdout).toBe(0);
    },
  );

  it('revoke is verified only because the instance said refused: true', async () => {
    const r = await runAgainst(h, 'revoke');
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(true);
    expect(out.results[0].instances).toEqual([
      expect.objectContaining({ instance_id: 'i-self', refused: true, code: 'vault_key_revoked' }),
    ]);
  });
});

describe('a verdict without "refused" is not a refusal', () => {
  it('revoke and incident: exit 5, verified false, the instance named with what was wrong', async () => {
    const h = await startHostile('verdict-without-refused');
    try {
      for (const cmd of ['revoke', 'incident --yes'] as Cmd[]) {
        const r = await runAgainst(h, cmd);
        expect(r.code, r.stderr).toBe(5);
        expect(verifiedFlags(parse(r.stdout))).not.toContain(true);
        expect(r.stderr).toMatch(
          /i-self \(unreachable: the proxy admin API \(GET http:\/\/127\.0\.0\.1:\d+\/v1\/vault-keys\/vk_id_hostile0001\/verdict\): unexpected answer: body: no "refused"\)/,
        );
      }
    } finally {
      await h.close();
    }
  });
});
