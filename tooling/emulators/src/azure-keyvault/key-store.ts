import crypto, { type KeyObject } from 'node:crypto';
import { exportJwk, type SignatureAlgorithm, signDigest } from '@signet/core';

/** What Key Vault creates: an EC key on a named curve, or an RSA key of a size. */
export type KeySpec = { kty: 'EC'; curve: 'P-256' | 'P-384' | 'P-521' } | { kty: 'RSA'; size: 2048 | 3072 | 4096 };

/** One version of a Key Vault key: its own key pair, attributes and operations. */
export interface KeyVersion {
  name: string;
  version: string;
  spec: KeySpec;
  privateKey: KeyObject;
  keyOps: string[];
  enabled: boolean;
  /** Unix seconds, as Key Vault reports them. */
  created: number;
  updated: number;
  tags: Record<string, string>;
}

/**
 * The signing algorithms Key Vault accepts per key type, with the digest each expects
 * and how the emulator signs it. ECDSA ties the curve to the algorithm; RSA keys of any
 * size take any of RS256…PS512 (the service does not tie the hash to the key size).
 */
const SIGNING: Record<string, { kty: 'EC' | 'RSA'; curve?: string; signet: SignatureAlgorithm; digestLength: number }> = {
  ES256: { kty: 'EC', curve: 'P-256', signet: 'ecdsa-p256-sha256', digestLength: 32 },
  ES384: { kty: 'EC', curve: 'P-384', signet: 'ecdsa-p384-sha384', digestLength: 48 },
  ES512: { kty: 'EC', curve: 'P-521', signet: 'ecdsa-p521-sha512', digestLength: 64 },
  RS256: { kty: 'RSA', signet: 'rsa-pkcs1v15-sha256', digestLength: 32 },
  RS384: { kty: 'RSA', signet: 'rsa-pkcs1v15-sha384', digestLength: 48 },
  RS512: { kty: 'RSA', signet: 'rsa-pkcs1v15-sha512', digestLength: 64 },
  PS256: { kty: 'RSA', signet: 'rsa-pss-sha256', digestLength: 32 },
  PS384: { kty: 'RSA', signet: 'rsa-pss-sha384', digestLength: 48 },
  PS512: { kty: 'RSA', signet: 'rsa-pss-sha512', digestLength: 64 },
};

const CURVE_BYTES: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/** Why a sign request is refused: the service's error code and message. */
export class SignRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Keys by name, each with its versions in creation order (the last is the current one). */
export class KeyStore {
  private readonly keys = new Map<string, KeyVersion[]>();
  private lastCreated = 0;

  create(name: string, spec: KeySpec, options: { keyOps?: string[]; enabled?: boolean; tags?: Record<string, string> } = {}): KeyVersion {
    const privateKey =
      spec.kty === 'EC'
        ? crypto.generateKeyPairSync('ec', { namedCurve: spec.curve }).privateKey
        : crypto.generateKeyPairSync('rsa', { modulusLength: spec.size }).privateKey;
    // Key Vault's timestamps are whole seconds; versions made within one second must still
    // sort in creation order, as they do in the service, so each is at least one later.
    const created = Math.max(Math.floor(Date.now() / 1000), this.lastCreated + 1);
    this.lastCreated = created;
    const version: KeyVersion = {
      name,
      version: crypto.randomBytes(16).toString('hex'),
      spec,
      privateKey,
      keyOps: options.keyOps ?? ['sign', 'verify'],
      enabled: options.enabled ?? true,
      created,
      updated: created,
      tags: options.tags ?? {},
    };
    const versions = this.keys.get(name) ?? [];
    versions.push(version);
    this.keys.set(name, versions);
    return version;
  }

  /** A version by name, or the current (newest) one when `version` is empty. */
  get(name: string, version?: string): KeyVersion | undefined {
    const versions = this.keys.get(name);
    if (!versions) return undefined;
    return version ? versions.find((v) => v.version === version) : versions[versions.length - 1];
  }

  versions(name: string): KeyVersion[] {
    return [...(this.keys.get(name) ?? [])];
  }

  names(): string[] {
    return [...this.keys.keys()];
  }

  clear(): void {
    this.keys.clear();
  }
}

/** The public JWK Key Vault returns for a version: base64url members, the key id as `kid`. */
export function publicJwk(key: KeyVersion, kid: string): Record<string, unknown> {
  const jwk = exportJwk(crypto.createPublicKey(key.privateKey));
  if (key.spec.kty === 'EC') {
    return { kid, kty: 'EC', key_ops: key.keyOps, crv: key.spec.curve, x: jwk.x, y: jwk.y };
  }
  return { kid, kty: 'RSA', key_ops: key.keyOps, n: jwk.n, e: jwk.e };
}

/**
 * Signs a digest as Key Vault does: the algorithm must suit the key and the digest must be
 * as long as its hash. ECDSA answers are raw r‖s with fixed-width halves (JWS form), not DER.
 * `mustLeadWithZero` re-signs until r (or s) starts with a zero byte, the case a careless
 * raw-to-DER conversion gets wrong.
 */
export function signWithKey(key: KeyVersion, alg: string, digest: Buffer, mustLeadWithZero?: 'r' | 's'): Buffer {
  const entry = SIGNING[alg];
  if (!entry || entry.kty !== key.spec.kty || (entry.curve && key.spec.kty === 'EC' && entry.curve !== key.spec.curve)) {
    throw new SignRefusal('BadParameter', `Invalid algorithm ${alg} for a key of type ${describe(key.spec)}.`);
  }
  if (digest.length !== entry.digestLength) {
    throw new SignRefusal('BadParameter', `Invalid digest length ${digest.length} for algorithm ${alg}; expected ${entry.digestLength}.`);
  }
  if (key.spec.kty === 'RSA') return signDigest(key.privateKey, entry.signet, digest);
  const width = CURVE_BYTES[key.spec.curve] as number;
  if (!mustLeadWithZero) return derToRaw(signDigest(key.privateKey, entry.signet, digest), width);
  // Deterministic nonces (RFC 6979) give one signature per digest, so the hunt for a leading
  // zero byte signs with random nonces instead, as the service (an HSM) does.
  for (;;) {
    const raw = signWithRandomNonce(key.privateKey, key.spec.curve, digest);
    if (raw[mustLeadWithZero === 'r' ? 0 : width] === 0) return raw;
  }
}

/** OpenSSL's names of the curves, as crypto.createECDH takes them. */
const ECDH_CURVES = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const;

/** The order n of each curve's base point (FIPS 186-4, D.1.2). */
const ORDERS: Record<string, bigint> = {
  'P-256': BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  'P-384': BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
  'P-521': BigInt(
    '0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
  ),
};

/**
 * ECDSA (FIPS 186-4, 6.4) over a digest with a fresh random nonce k: a new key pair on the
 * curve gives k and the x of kG, so r = x mod n and s = k⁻¹(z + r·d) mod n. Raw r‖s.
 */
function signWithRandomNonce(privateKey: KeyObject, curve: 'P-256' | 'P-384' | 'P-521', digest: Buffer): Buffer {
  const n = ORDERS[curve] as bigint;
  const width = CURVE_BYTES[curve] as number;
  const d = toBigInt(Buffer.from(exportJwk(privateKey).d ?? '', 'base64url'));
  const bits = n.toString(2).length;
  const z = toBigInt(digest) >> BigInt(Math.max(0, digest.length * 8 - bits));
  for (;;) {
    const nonce = crypto.createECDH(ECDH_CURVES[curve]);
    const point = nonce.generateKeys(); // uncompressed: 04 ‖ x ‖ y
    const k = toBigInt(nonce.getPrivateKey());
    const r = toBigInt(point.subarray(1, 1 + width)) % n;
    const s = (modPow(k, n - 2n, n) * ((z + r * d) % n)) % n;
    if (r !== 0n && s !== 0n) return Buffer.concat([toFixed(r, width), toFixed(s, width)]);
  }
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function toFixed(value: bigint, width: number): Buffer {
  return Buffer.from(value.toString(16).padStart(width * 2, '0'), 'hex');
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

function describe(spec: KeySpec): string {
  return spec.kty === 'EC' ? `EC ${spec.curve}` : `RSA ${spec.size}`;
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } → r‖s, each left-padded to `width`. */
export function derToRaw(der: Buffer, width: number): Buffer {
  let offset = 0;
  const readLength = (): number => {
    const first = der[offset++] as number;
    if (first < 0x80) return first;
    let length = 0;
    for (let i = 0; i < (first & 0x7f); i++) length = (length << 8) | (der[offset++] as number);
    return length;
  };
  if (der[offset++] !== 0x30) throw new Error('not a DER SEQUENCE');
  readLength();
  const integer = (): Buffer => {
    if (der[offset++] !== 0x02) throw new Error('not a DER INTEGER');
    const length = readLength();
    let value = der.subarray(offset, offset + length);
    offset += length;
    while (value.length > 0 && value[0] === 0) value = value.subarray(1);
    return Buffer.concat([Buffer.alloc(width - value.length), value]);
  };
  return Buffer.concat([integer(), integer()]);
}
