import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isolatedEnv, runBuilt, runInProcess } from '../helpers/cli.js';
import { helpTemplate } from '../../src/main.js';
import { layoutHelp } from '../../src/help-layout.js';
import { fastPath } from '../../src/fast-path.js';

/** Commander reads the help width from process.stdout itself: present it as a terminal of `columns`. */
function asTerminal(columns: number): void {
  Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
  Object.defineProperty(process.stdout, 'columns', { value: columns, configurable: true });
}
afterEach(() => {
  delete (process.stdout as { isTTY?: boolean }).isTTY;
  delete (process.stdout as { columns?: number }).columns;
});

describe('--help without commander is byte for byte the help commander writes', () => {
  it.each([20, 39, 40, 41, 60, 79, 80, 81, 100, 120, 161, 250])('at %i columns', async (columns) => {
    asTerminal(columns);
    const full = await runInProcess(['--help']);
    expect(full.code).toBe(0);
    expect(layoutHelp(helpTemplate(), columns)).toBe(full.stdout);
  });

  it('and the built CLI prints it from the fast path, the same as the full CLI, for --help and -h', async () => {
    const fast = await runBuilt(['--help']);
    const full = await runBuilt(['--help'], { env: isolatedEnv({ TOURNIQUET_NO_FAST_PATH: '1' }) });
    expect(full.code).toBe(0);
    expect(fast).toEqual(full);
    expect(await runBuilt(['-h'])).toEqual(full);
    // Not a terminal: commander's 80 columns; the fast path answers (it does not return null).
    expect(await fastPath(['--help'], {}, () => undefined)).toBe(full.stdout);
  });
});

const DECIDE = ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--json'];

describe('decide --json without commander prints the plan the full CLI prints', () => {
  const answered: string[][] = [
    DECIDE,
    ['decide', '--scenario=production-key-exposed', '--vendor=openai', '--json'],
    ['decide', '-s', 'runaway-loop', '--vendor', 'twilio', '--no-proxy', '--json', '--no-input'],
    [
      'decide',
      '--json',
      '--scenario',
      'runaway-loop',
      '--vendor',
      'resend',
      '--rate',
      '150/min',
      '--agent',
      'refund-bot',
    ],
    [
      'decide',
      '--scenario',
      'vault-key-in-logs',
      '--vault-key',
      'vk_id_refund_agent',
      '--vendor',
      'stripe',
      '--json',
      '-y',
    ],
  ];

  it.each(answered.map((a) => [a.join(' '), a]))('%s', async (_, args) => {
    const env = isolatedEnv();
    const full = await runBuilt(args, { env: { ...env, TOURNIQUET_NO_FAST_PATH: '1' } });
    expect(full.code, full.stderr).toBe(0);
    expect(await runBuilt(args, { env })).toEqual(full);
    // The fast path itself answered: not a fallback to the full CLI.
    expect(await fastPath(args, env, () => undefined)).toBe(full.stdout);
  });

  // Each of these takes the full CLI (the fast path returns null): the result, errors included, is the full CLI's.
  const fallBack: [string, string[], Record<string, string>?][] = [
    ['a fact missing (exit 2 naming its flag)', ['decide', '--scenario', 'runaway-loop', '--json', '--no-input']],
    ['an unknown scenario', ['decide', '--scenario', 'no-such-thing', '--vendor', 'stripe', '--json']],
    [
      'a rate that is not one',
      ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--rate', 'fast', '--json'],
    ],
    [
      'a secret on argv',
      ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--agent', 'sk_live_0123456789abcdef', '--json'],
    ],
    [
      'an option given twice',
      ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--vendor', 'openai', '--json'],
    ],
    ['an unknown option', ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--json', '--verbose']],
    ['text output (no --json)', ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe']],
    [
      'a profile that does not exist',
      ['decide', '--profile', 'nope', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--json'],
    ],
  ];

  it.each(fallBack)('falls back: %s', async (_, args, extra) => {
    const env = isolatedEnv(extra);
    expect(await fastPath(args, env, () => undefined)).toBeNull();
    const full = await runBuilt(args, { env: { ...env, TOURNIQUET_NO_FAST_PATH: '1' } });
    expect(await runBuilt(args, { env })).toEqual(full);
  });

  it("falls back for a team's own playbooks, and the plan is theirs", async () => {
    const env = isolatedEnv();
    const dir = join(env.HOME!, 'playbooks');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x.yaml'), 'not: a playbook\n');
    const withTeam = { ...env, TOURNIQUET_PLAYBOOKS: dir };
    expect(await fastPath(DECIDE, withTeam, () => undefined)).toBeNull();
    const full = await runBuilt(DECIDE, { env: { ...withTeam, TOURNIQUET_NO_FAST_PATH: '1' } });
    expect(await runBuilt(DECIDE, { env: withTeam })).toEqual(full);
    expect(full.code).not.toBe(0); // the broken team playbook is reported, as the full CLI does
  });
});
