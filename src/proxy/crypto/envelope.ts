import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MasterKey } from './master-key.js';

/**
 * Envelope encryption of one production key: the secret is sealed with a fresh 256-bit data
 * key (AES-256-GCM), and the data key is wrapped with the master key (AES-256-GCM again).
 * Rotating the master key re-wraps the data keys only; the sealed secrets never change.
 *
 * Both layers authenticate the record id (and the secret layer the vendor too) as associated
 * data, so a ciphertext copied onto another row does not open.
 */
export interface Sealed {
  /** base64 of nonce (12) | ciphertext | tag (16): the secret under the data key. */
  ct: string;
  /** base64 of nonce | wrapped data key | tag: the data key under the master key. */
  dek: string;
  /** The master key that wrapped `dek`. */
  kid: string;
}

const NONCE = 12;
const TAG = 16;

function gcmSeal(key: Buffer, plaintext: Buffer, aad: string): string {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64');
}

/** Throws when the key is wrong or anything was altered (the GCM tag does not verify). */
function gcmOpen(key: Buffer, sealed: string, aad: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  if (raw.length < NONCE + TAG) throw new Error('sealed value too short');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(raw.subarray(raw.length - TAG));
  return Buffer.concat([d.update(raw.subarray(NONCE, raw.length - TAG)), d.final()]);
}

const dekAad = (id: string, kid: string) => `tourniquet/dek/v1/${id}/${kid}`;
const secretAad = (id: string, vendor: string) => `tourniquet/secret/v1/${id}/${vendor}`;

export function seal(secret: string, id: string, vendor: string, master: MasterKey): Sealed {
  const dek = randomBytes(32);
  try {
    return {
      ct: gcmSeal(dek, Buffer.from(secret, 'utf8'), secretAad(id, vendor)),
      dek: gcmSeal(master.key, dek, dekAad(id, master.id)),
      kid: master.id,
    };
  } finally {
    dek.fill(0);
  }
}

export function open(s: Sealed, id: string, vendor: string, master: MasterKey): string {
  const dek = gcmOpen(master.key, s.dek, dekAad(id, s.kid));
  try {
    return gcmOpen(dek, s.ct, secretAad(id, vendor)).toString('utf8');
  } finally {
    dek.fill(0);
  }
}

/** The same sealed secret with its data key wrapped by `to` instead (the secret is not touched). */
export function rewrap(s: Sealed, id: string, from: MasterKey, to: MasterKey): Sealed {
  const dek = gcmOpen(from.key, s.dek, dekAad(id, s.kid));
  try {
    return { ct: s.ct, dek: gcmSeal(to.key, dek, dekAad(id, to.id)), kid: to.id };
  } finally {
    dek.fill(0);
  }
}
