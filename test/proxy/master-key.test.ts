import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MasterKeyring, parseKeys, masterKeyId } from '../../src/proxy/crypto/master-key.js';
import { open, rewrap, seal } from '../../src/proxy/crypto/envelope.js';
import { SecretSealer } from '../../src/proxy/crypto/sealer.js';
import { newMasterKeyText } from '../helpers/master-key.js';

const key = (text: string) => ({ id: masterKeyId(Buffer.from(text, 'base64')), key: Buffer.from(text, 'base64') });

describe('master keys and the envelope', () => {
  it('parses base64 and hex keys, one a line or comma-separated, skipping comments; refuses anything not 32 bytes', () => {
    const a = newMasterKeyText();
    const b = newMasterKeyText();
    const hex = Buffer.from(newMasterKeyText(), 'base64').toString('hex');
    expect(parseKeys(`# current first\n${a}\n\n${b},${hex}\n`, 'f').map((k) => k.id)).toEqual([
      key(a).id,
      key(b).id,
      masterKeyId(Buffer.from(hex, 'hex')),
    ]);
    expect(() => parseKeys('c2hvcnQ=', 'f')).toThrow(/line 1 of f is not 32 bytes/);
    expect(() => parseKeys('# nothing\n', 'f')).toThrow(/holds no master key/);
    expect(key(a).id).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(key(a).id).not.toContain(a.slice(0, 8));
  });

  it('a sealed key opens only with its master key, for its own row: another row, vendor or key fails the tag', () => {
    const m = key(newMasterKeyText());
    const other = key(newMasterKeyText());
    const s = seal('sk_live_0123456789abcdef', 'up_1', 'stripe', m);
    expect(open(s, 'up_1', 'stripe', m)).toBe('sk_live_0123456789abcdef');
    expect(() => open(s, 'up_2', 'stripe', m)).toThrow();
    expect(() => open(s, 'up_1', 'openai', m)).toThrow();
    expect(() => open({ ...s, kid: other.id }, 'up_1', 'stripe', other)).toThrow();
    expect(Buffer.from(s.ct, 'base64').toString('latin1')).not.toContain('sk_live');
  });

  it('re-wrapping changes only the data key wrapping: the sealed secret is the same and opens under the new key', () => {
    const m1 = key(newMasterKeyText());
    const m2 = key(newMasterKeyText());
    const s = seal('re_secret_value_123456', 'up_9', 'resend', m1);
    const r = rewrap(s, 'up_9', m1, m2);
    expect(r.ct).toBe(s.ct);
    expect(r.kid).toBe(m2.id);
    expect(open(r, 'up_9', 'resend', m2)).toBe('re_secret_value_123456');
    expect(() => open(r, 'up_9', 'resend', m1)).toThrow();
  });

  it("a keyring re-read from its file: the file's first key becomes current, keys it dropped are kept for unwrapping", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-mk-'));
    const f = join(dir, 'k');
    const a = newMasterKeyText();
    const b = newMasterKeyText();
    writeFileSync(f, a + '\n', { mode: 0o600 });
    chmodSync(f, 0o600);
    const ring = await MasterKeyring.load({ from: 'file', path: f });
    expect(ring.current.id).toBe(key(a).id);
    writeFileSync(f, b + '\n');
    expect(await ring.refresh()).toBe(true);
    expect(ring.ids()).toEqual([key(b).id, key(a).id]);
    // a sealer remembers what it opened, so a row re-wrapped under a key it lacks still opens
    const sealer = new SecretSealer(new MasterKeyring(null, [key(a)]));
    const s = sealer.seal('up_1', 'stripe', 'sk_test_remembered_0000', null);
    const moved = rewrap(s, 'up_1', key(a), key(b));
    expect(sealer.open('up_1', 'stripe', moved)).toBe('sk_test_remembered_0000');
    expect(new SecretSealer(new MasterKeyring(null, [key(a)])).open('up_1', 'stripe', moved)).toBeNull();
  });
});
