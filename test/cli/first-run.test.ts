import { describe, expect, it } from 'vitest';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';

/** With no configuration at all, every command that needs a proxy says how to get one. */
const NEED_A_PROXY: string[][] = [
  ['incident', '-s', 'runaway-loop', '--vault-key', 'vk_id_x', '--yes'],
  ['revoke', 'vk_id_x'],
  ['rotate', 'openai', '--yes'],
  ['rotate', 'openai', '--if-due', '--yes'],
  ['roll', 'vk_id_x'],
  ['issue', '--vendor', 'stripe'],
  ['run', '-s', 'runaway-loop', '--vendor', 'stripe', '--vault-key', 'vk_id_x', '--yes'],
  ['watch', '--once'],
  ['drill'],
  ['keys'],
  ['damage', '--source', 'proxy'],
];

describe('first run, nothing configured', () => {
  it.each(NEED_A_PROXY.map((a) => [a.join(' '), a]))(
    'tourniquet %s: exit 2, and the ways to get a proxy',
    async (_name, args) => {
      const r = await runInProcess(args, { env: isolatedEnv() });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/tourniquet config set proxy_url URL/);
      expect(r.stderr).toMatch(
        /`tourniquet demo` runs the whole story on loopback; `tourniquet sandbox` starts loopback vendors; `tourniquet proxy serve` runs the proxy/,
      );
    },
  );
});
