import { base64Encode, hex, sha } from './encoding.js';
import { fail } from './errors.js';

/** A public key the verifier trusts, as a JSON Web Key (no key parsing in the browser), optionally only within a window. */
export interface BrowserTrustedKey {
  /** The public key as a JWK: EC (P-256, P-384, P-521), OKP (Ed25519) or RSA (2048 bits or more). */
  jwk: JsonWebKey;
  /** How results name the key; defaults to its fingerprint. */
  name?: string;
  /** ISO 8601 times: a signature counts only inside the window (key rotation), as in @signet/core. */
  validFrom?: string;
  validUntil?: string;
}

export type ImportedKey = {
  name: string;
  /** base64 of the SHA-256 of the key's SubjectPublicKeyInfo: the hint a bundle signed by it carries. */
  hint: string;
  /** `sha256:HEX` of the same, as Signet prints keys. */
  fingerprint: string;
  validFrom?: Date;
  validUntil?: Date;
} & (
  | { kind: 'ecdsa'; key: CryptoKey; size: number; hashes: string[] }
  | { kind: 'ed25519'; key: CryptoKey }
  | { kind: 'rsa'; variants: { key: CryptoKey; pss: boolean; saltLength: number }[] }
);

const CURVES: Record<string, { size: number; hashes: string[] }> = {
  // The curve's own hash first (as Sigstore's algorithm registry says), then SHA-256, which
  // sigstore-js and older cosign use with every key: the hashes @signet/core tries.
  'P-256': { size: 32, hashes: ['SHA-256'] },
  'P-384': { size: 48, hashes: ['SHA-384', 'SHA-256'] },
  'P-521': { size: 66, hashes: ['SHA-512', 'SHA-256'] },
};
const HASHES = ['SHA-256', 'SHA-384', 'SHA-512'];
const PUBLIC_JWK_FIELDS = ['kty', 'crv', 'x', 'y', 'n', 'e'];

/** Imports the trusted keys, refusing (E_KEY) what @signet/core refuses: RSA under 2048 bits, other curves, other kinds. */
export async function importTrustedKeys(keys: readonly BrowserTrustedKey[]): Promise<ImportedKey[]> {
  return Promise.all(keys.map((trusted, i) => importTrustedKey(trusted, trusted.name ?? `key ${i + 1}`)));
}

async function importTrustedKey(trusted: BrowserTrustedKey, label: string): Promise<ImportedKey> {
  const given = trusted?.jwk as Record<string, unknown> | undefined;
  if (typeof given !== 'object' || given === null) return fail('E_KEY', `${label} has no jwk`);
  // Only the public fields: an "alg" or "key_ops" would tie the key to one of the hashes tried.
  const jwk = Object.fromEntries(PUBLIC_JWK_FIELDS.filter((k) => given[k] !== undefined).map((k) => [k, given[k]])) as JsonWebKey;
  const subtle = crypto.subtle;
  const window = {
    validFrom: trusted.validFrom ? new Date(trusted.validFrom) : undefined,
    validUntil: trusted.validUntil ? new Date(trusted.validUntil) : undefined,
  };
  const imported = async (algorithm: RsaHashedImportParams | EcKeyImportParams | Algorithm) => {
    try {
      return await subtle.importKey('jwk', jwk, algorithm, true, ['verify']);
    } catch (cause) {
      return fail(
        'E_KEY',
        `${label} is not a usable ${algorithm.name} public key${cause instanceof Error ? ` (${cause.message})` : ''}`,
        cause,
      );
    }
  };
  type Kind =
    | { kind: 'ecdsa'; key: CryptoKey; size: number; hashes: string[] }
    | { kind: 'ed25519'; key: CryptoKey }
    | { kind: 'rsa'; variants: { key: CryptoKey; pss: boolean; saltLength: number }[] };
  let result: Kind;
  if (jwk.kty === 'EC') {
    const curve = CURVES[jwk.crv ?? ''];
    if (!curve) fail('E_KEY', `${label} is an ECDSA key on ${jwk.crv ?? 'an unnamed curve'}; Signet accepts P-256, P-384 and P-521`);
    result = { kind: 'ecdsa', key: await imported({ name: 'ECDSA', namedCurve: jwk.crv as string }), ...curve };
  } else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    result = { kind: 'ed25519', key: await imported({ name: 'Ed25519' }) };
  } else if (jwk.kty === 'RSA') {
    // An RSA key's JWK names no hash or padding, and key services sign with either: try each, as @signet/core does.
    const variants = [];
    for (const pss of [false, true]) {
      for (const hash of HASHES) {
        const key = await imported(pss ? { name: 'RSA-PSS', hash } : { name: 'RSASSA-PKCS1-v1_5', hash });
        variants.push({ key, pss, saltLength: Number(hash.slice(4)) / 8 });
      }
    }
    const bits = ((variants[0] as { key: CryptoKey }).key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
    if (bits < 2048)
      fail('E_KEY', `${label} is an RSA key of ${bits} bits, too weak to trust: Signet accepts RSA keys of 2048 bits or more`);
    result = { kind: 'rsa', variants };
  } else {
    return fail(
      'E_KEY',
      `${label} is a ${String(jwk.kty)} key; Signet accepts ECDSA (P-256, P-384, P-521), RSA (2048 bits or more) and Ed25519`,
    );
  }
  const anyKey = result.kind === 'rsa' ? (result.variants[0]?.key as CryptoKey) : result.key;
  const digest = await sha(256, new Uint8Array(await subtle.exportKey('spki', anyKey)));
  const fingerprint = `sha256:${hex(digest)}`;
  return { ...result, ...window, name: trusted.name ?? fingerprint, hint: base64Encode(digest), fingerprint } as ImportedKey;
}

export function keyValidAt(key: ImportedKey, time: Date): boolean {
  return (!key.validFrom || key.validFrom <= time) && (!key.validUntil || time <= key.validUntil);
}
