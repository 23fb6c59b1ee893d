import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SecretRegistry, looksLikeSecret, parseSecretRef, readSecret, redactHint } from '../../src/core/secrets.js';

describe('secrets', () => {
  it.each([
    ['sk_live_51HabcdefghijklmnopA1b2', 'sk_live_…A1b2'],
    ['rk_test_51Habcdefghijklmnopzz99', 'rk_test_…zz99'],
    ['sk-proj-abcdefghijklmnopqrstuvwx7f3e', 'sk-proj-…7f3e'],
    ['re_123456789abcdefghij_QwEr', 're_…QwEr'],
    ['vk_9f8e7d6c5b4a39281706', 'vk_…1706'],
    ['0123456789abcdef0123456789abcdef', '…cdef'],
    ['short', '…'],
  ])('shows %s only as %s', (secret, hint) => {
    expect(redactHint(secret)).toBe(hint);
  });

  it('scrubs every registered secret from any text', () => {
    const reg = new SecretRegistry();
    reg.add('sk_live_51HabcdefghijklmnopA1b2');
    reg.add('tok'); // too short to be worth matching
    expect(reg.scrub('key=sk_live_51HabcdefghijklmnopA1b2 and again sk_live_51HabcdefghijklmnopA1b2; tok')).toBe(
      'key=sk_live_…A1b2 and again sk_live_…A1b2; tok',
    );
  });

  it('reads a secret from the environment, a file or stdin, trimming the newline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-secret-'));
    writeFileSync(join(dir, 'token'), 'from-a-file-123\n');
    const io = { env: { TOKEN: 'from-the-env-123' }, stdin: Readable.from(['from-stdin-123\n']) };
    expect(await readSecret(parseSecretRef('env:TOKEN'), io, 'admin token')).toBe('from-the-env-123');
    expect(await readSecret(parseSecretRef(join(dir, 'token')), io, 'admin token')).toBe('from-a-file-123');
    expect(await readSecret(parseSecretRef('-'), io, 'admin token')).toBe('from-stdin-123');
  });

  it('says plainly when a secret is missing or empty, without a stack trace', async () => {
    const io = { env: { EMPTY: '' }, stdin: Readable.from([]) };
    await expect(readSecret(parseSecretRef('env:NOPE'), io, 'admin token')).rejects.toThrow(
      'admin token is empty: nothing in environment variable NOPE',
    );
    await expect(readSecret(parseSecretRef('/nonexistent/token'), io, 'admin token')).rejects.toThrow(
      /cannot read admin token from file \/nonexistent\/token: ENOENT/,
    );
  });

  it('recognises secrets that must never be on argv, and not ids', () => {
    for (const s of [
      'sk_live_51Habcdefghij',
      'rk_live_51Habcdefghij',
      'sk-proj-abcdefghijkl',
      'vk_abcdefghijklmnop',
      're_abcdefghijklmno',
    ])
      expect(looksLikeSecret(s)).toBe(true);
    for (const s of ['vk_id_123', 'key_abc', 'stripe', 'up_1', '1/400ms', 'sk_live_'])
      expect(looksLikeSecret(s)).toBe(false);
  });
});
