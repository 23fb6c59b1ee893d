import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { MasterKeyring, masterKeyId } from '../../src/proxy/crypto/master-key.js';

/** A fresh master key as the file holds it (base64 of 32 random bytes). */
export function newMasterKeyText(): string {
  return randomBytes(32).toString('base64');
}

export function keyIdOf(text: string): string {
  return masterKeyId(Buffer.from(text, 'base64'));
}

/** A keyring of one fresh key, for in-process proxies in tests. */
export function testKeyring(text = newMasterKeyText()): MasterKeyring {
  const key = Buffer.from(text, 'base64');
  return new MasterKeyring(null, [{ id: masterKeyId(key), key }]);
}

/** Write a master key file (mode 0600 unless told otherwise); returns its text. */
export function writeMasterKeyFile(path: string, keys: string[], mode = 0o600): void {
  writeFileSync(path, keys.join('\n') + '\n', { mode });
  chmodSync(path, mode);
}
