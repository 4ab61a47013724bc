import crypto, { type KeyObject } from 'node:crypto';
import { pem } from '@sigstore/core';
import { SignetError } from './errors';

/** The SPKI PEM of a public (or private) key. */
export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * base64(SHA-256(SPKI DER)): the key hint Signet writes into bundles, the same hint cosign
 * and the Sigstore conformance suite write. People and --json see it as publicKeyFingerprint.
 */
export function publicKeyHint(key: KeyObject | string): string {
  if (typeof key !== 'string') {
    // A KeyObject never changes: its hint is exported once (a tree's registry key signs every package).
    let hint = hints.get(key);
    if (hint === undefined) {
      hint = spkiHint(key);
      hints.set(key, hint);
    }
    return hint;
  }
  return spkiHint(key);
}

const hints = new WeakMap<KeyObject, string>();

function spkiHint(key: KeyObject | string): string {
  // A "PUBLIC KEY" PEM's body is the SPKI DER itself; reading it spares OpenSSL's export.
  const der =
    typeof key === 'string' && /^-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----$/.test(key.trim())
      ? pem.toDER(key)
      : (typeof key === 'string' ? crypto.createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

/**
 * A key's fingerprint as Signet prints it, in text and in --json alike: `sha256:` and the hex
 * SHA-256 of its DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER | sha256sum`).
 */
export function publicKeyFingerprint(key: KeyObject | string): string {
  return fingerprintOfHint(publicKeyHint(key));
}

/** The fingerprint a bundle's key hint stands for, when the hint is one (cosign and others may write anything). */
export function fingerprintOfHint(hint: string): string {
  return `sha256:${Buffer.from(hint, 'base64').toString('hex')}`;
}

/** Reads a public key from PEM (SPKI, PKCS#1 or a certificate's key) or SPKI DER. */
export function parsePublicKey(material: string | Uint8Array, name = 'public key'): KeyObject {
  try {
    const key =
      typeof material === 'string'
        ? crypto.createPublicKey(material)
        : crypto.createPublicKey({ key: Buffer.from(material), format: 'der', type: 'spki' });
    return key;
  } catch (cause) {
    throw new SignetError({
      code: 'E_KEY',
      message: `${name} is not a readable public key (expected a PEM "PUBLIC KEY")`,
      cause,
    });
  }
}

/** The elliptic curves Sigstore's algorithm registry allows: P-256, P-384, P-521. */
const ACCEPTED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
/** NIST SP 800-131A: RSA below 2048 bits has not been acceptable for signatures since 2013. */
export const MIN_RSA_BITS = 2048;

/**
 * Refuses a public key too weak (or of a kind) to trust for a signature: RSA under 2048 bits,
 * DSA, curves other than P-256/384/521, anything Sigstore's algorithm registry does not list.
 * One check for every key a verification trusts: a policy's keys and a certificate's.
 */
export function assertAcceptableKey(key: KeyObject, name = 'the key'): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new SignetError({
        code: 'E_KEY',
        message: `${name} is an RSA key of ${bits} bits, too weak to trust: Signet accepts RSA keys of ${MIN_RSA_BITS} bits or more`,
      });
    }
    return;
  }
  if (type === 'ec') {
    if (!ACCEPTED_CURVES.has(details.namedCurve ?? '')) {
      throw new SignetError({
        code: 'E_KEY',
        message: `${name} is an ECDSA key on ${details.namedCurve ?? 'an unnamed curve'}; Signet accepts P-256, P-384 and P-521`,
      });
    }
    return;
  }
  if (type === 'ed25519') return;
  throw new SignetError({
    code: 'E_KEY',
    message: `${name} is a${type && /^[aeiou]/i.test(type) ? 'n' : ''} ${type ?? 'unknown'} key; Signet accepts ECDSA (P-256, P-384, P-521), RSA (2048 bits or more) and Ed25519`,
  });
}
