import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { jwkThumbprint, parsePublicJwk, validatePublicJwk } from '../../src/core/jwk.js';
import { TourniquetError } from '../../src/core/errors.js';

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
export const RFC7638_KEY = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const ed = () => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
const x25519 = () => generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });

function usage(fn: () => unknown): TourniquetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TourniquetError);
    expect((err as TourniquetError).exitCode).toBe(2);
    return err as TourniquetError;
  }
  throw new Error('expected a usage error');
}

describe('RFC 7638 thumbprint', () => {
  it('matches the §3.1 test vector', () => {
    expect(jwkThumbprint(validatePublicJwk(RFC7638_KEY))).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('agrees with jose for EC, OKP and RSA keys and ignores optional members', async () => {
    for (const key of [ec(), ed(), x25519(), RFC7638_KEY]) {
      const withExtras = { ...key, kid: 'k1', use: 'sig' };
      expect(jwkThumbprint(validatePublicJwk(withExtras))).toBe(await calculateJwkThumbprint(key as never, 'sha256'));
    }
  });
});

describe('public JWK validation', () => {
  it('accepts EC P-256, RSA, Ed25519 and X25519 public keys, and a one-key JWKS', () => {
    expect(validatePublicJwk(ec()).kty).toBe('EC');
    expect(validatePublicJwk(ed()).kty).toBe('OKP');
    expect(validatePublicJwk(x25519()).kty).toBe('OKP');
    expect(parsePublicJwk(JSON.stringify({ keys: [RFC7638_KEY] })).kty).toBe('RSA');
    expect(parsePublicJwk('\uFEFF' + JSON.stringify(ec())).kty).toBe('EC'); // saved by an editor with a BOM
  });

  const p256 = ec();
  const battery: [string, unknown, RegExp][] = [
    ['not JSON', '{', /not valid JSON/],
    ['an array', '[]', /not a JSON object/],
    ['no kty', JSON.stringify({ crv: 'P-256', x: p256.x, y: p256.y }), /kty/],
    ['unknown kty', JSON.stringify({ kty: 'oct', k: 'AAAA' }), /private key material|not supported/],
    [
      'a private EC key',
      JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })),
      /private key material \("d"\)/,
    ],
    [
      'a private RSA key',
      JSON.stringify(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })),
      /private key material/,
    ],
    [
      'P-384 curve',
      JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' })),
      /P-384.*not supported/,
    ],
    ['short x', JSON.stringify({ ...p256, x: p256.x!.slice(0, 20) }), /"x" is \d+ bytes; 32 expected/],
    ['missing y', JSON.stringify({ kty: 'EC', crv: 'P-256', x: p256.x }), /"y" is missing/],
    ['padded base64', JSON.stringify({ ...p256, x: p256.x + '=' }), /not base64url/],
    ['standard base64 chars', JSON.stringify({ ...p256, y: p256.y!.replace(/.$/, '+') }), /not base64url/],
    [
      'small RSA modulus',
      JSON.stringify(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })),
      /1024 bits/,
    ],
    ['RSA without e', JSON.stringify({ kty: 'RSA', n: RFC7638_KEY.n }), /"e" is missing/],
    [
      'OKP Ed448',
      JSON.stringify(generateKeyPairSync('ed448').publicKey.export({ format: 'jwk' })),
      /Ed448.*not supported/,
    ],
    ['use enc', JSON.stringify({ ...p256, use: 'enc' }), /"use" is "enc"/],
    ['a JWKS of two', JSON.stringify({ keys: [p256, p256] }), /2 keys/],
  ];
  for (const [name, text, why] of battery)
    it(`rejects ${name} with exit 2`, () => {
      expect(usage(() => parsePublicJwk(text as string)).message).toMatch(why);
    });
});
