import { createHash, createPublicKey } from 'node:crypto';
import { usageError } from './errors.js';

/**
 * Public JWKs, checked locally before anything is sent: an invalid key is exit 2 with no call
 * made. RFC 7638 thumbprints computed here, so the server's `new_jkt` can be checked.
 */
export type PublicJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; [k: string]: unknown }
  | { kty: 'RSA'; n: string; e: string; [k: string]: unknown }
  | { kty: 'OKP'; crv: 'Ed25519' | 'X25519'; x: string; [k: string]: unknown };

/** Members that only a private key has (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const B64URL = /^[A-Za-z0-9_-]+$/;

function b64urlBytes(value: unknown, member: string): Buffer {
  if (typeof value !== 'string' || value === '') throw invalid(`"${member}" is missing or not a string`);
  if (!B64URL.test(value)) throw invalid(`"${member}" is not base64url (no padding, no + or /)`);
  return Buffer.from(value, 'base64url');
}

const invalid = (why: string) =>
  usageError(
    `invalid JWK: ${why}`,
    'pass a public key as a JWK: EC P-256 (x, y), RSA (n, e) or OKP Ed25519/X25519 (x); never a private key',
  );

function checkLength(value: unknown, member: string, bytes: number): void {
  const got = b64urlBytes(value, member).length;
  if (got !== bytes) throw invalid(`"${member}" is ${got} bytes; ${bytes} expected`);
}

/** Throws a usage error (exit 2) naming what is wrong; returns the key typed when it is a valid public JWK. */
export function validatePublicJwk(input: unknown): PublicJwk {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('not a JSON object');
  const jwk = input as Record<string, unknown>;
  const priv = PRIVATE_MEMBERS.filter((m) => m in jwk);
  if (priv.length)
    throw invalid(
      `it contains private key material (${priv.map((m) => `"${m}"`).join(', ')}); send only the public key`,
    );
  if (jwk.use !== undefined && jwk.use !== 'sig')
    throw invalid(`"use" is ${JSON.stringify(jwk.use)}; a DPoP key signs ("sig")`);
  switch (jwk.kty) {
    case 'EC':
      if (jwk.crv !== 'P-256') throw invalid(`EC curve "${String(jwk.crv)}" is not supported; use P-256`);
      checkLength(jwk.x, 'x', 32);
      checkLength(jwk.y, 'y', 32);
      onCurve(jwk);
      return jwk as PublicJwk;
    case 'RSA': {
      const n = b64urlBytes(jwk.n, 'n');
      if (n[0] === 0) throw invalid('"n" has a leading zero byte');
      if (n.length * 8 < 2048) throw invalid(`RSA modulus is ${n.length * 8} bits; at least 2048 expected`);
      const e = b64urlBytes(jwk.e, 'e');
      if (e.length > 8 || e[0] === 0) throw invalid('"e" is not a valid public exponent');
      return jwk as PublicJwk;
    }
    case 'OKP':
      if (jwk.crv !== 'Ed25519' && jwk.crv !== 'X25519')
        throw invalid(`OKP curve "${String(jwk.crv)}" is not supported; use Ed25519 or X25519`);
      checkLength(jwk.x, 'x', 32);
      return jwk as PublicJwk;
    case undefined:
      throw invalid('"kty" is missing');
    default:
      throw invalid(`key type "${String(jwk.kty)}" is not supported; use EC, RSA or OKP`);
  }
}

/** Only the required members, per RFC 7638 §3.2, §3.3 (and RFC 8037 §2 for OKP). */
const REQUIRED: Record<PublicJwk['kty'], string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

/** RFC 7638 SHA-256 thumbprint: required members in lexicographic order, no whitespace, base64url. */
export function jwkThumbprint(jwk: PublicJwk): string {
  const members = REQUIRED[jwk.kty];
  // The members are fixed names and base64url/ASCII values, so JSON.stringify gives the exact canonical form.
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m as keyof PublicJwk])}`).join(',')}}`;
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/**
 * The point (x, y) must lie on P-256: a point off the curve is no key at all (and the classic
 * invalid-curve attack). Node's key import runs OpenSSL's check; only the verdict is used.
 */
function onCurve(jwk: Record<string, unknown>): void {
  try {
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string }, format: 'jwk' });
  } catch {
    throw invalid('the point (x, y) is not on the P-256 curve');
  }
}

/** A public JWK is well under a kilobyte (RSA 4096: about 750 bytes); anything this big is not one. */
export const MAX_JWK_CHARS = 16 * 1024;

/** Parse JWK text (a bare JWK, or a JWKS with exactly one key); errors are exit 2. */
export function parsePublicJwk(text: string): PublicJwk {
  if (text.length > MAX_JWK_CHARS) throw invalid(`${text.length} characters; a public JWK is at most ${MAX_JWK_CHARS}`);
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, '')); // a byte-order mark from an editor is fine
  } catch {
    throw invalid('not valid JSON');
  }
  if (value && typeof value === 'object' && Array.isArray((value as { keys?: unknown }).keys)) {
    const keys = (value as { keys: unknown[] }).keys;
    if (keys.length !== 1) throw invalid(`a JWK set with ${keys.length} keys; pass exactly one`);
    value = keys[0];
  }
  return validatePublicJwk(value);
}
