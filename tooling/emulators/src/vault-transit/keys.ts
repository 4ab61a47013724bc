import crypto, { type KeyObject } from 'node:crypto';
import { exportJwk, type SignatureAlgorithm, signDigest } from '@signet/core';

/*
 * A Transit key: a ring of versions, each a real key pair, with Vault's version rules
 * (latest_version, min_encryption_version for signing, min_decryption_version for
 * verifying, deletion_allowed) and Vault's signatures: ECDSA over the digest given (DER),
 * RSA PKCS#1 v1.5 or PSS with the maximum salt length, Ed25519 over the message.
 */

export const SIGNING_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
/** Key types the emulator knows: the signing ones, and a symmetric one (which cannot sign). */
export const KEY_TYPES = [...SIGNING_KEY_TYPES, 'aes256-gcm96'] as const;
export type TransitKeyType = (typeof KEY_TYPES)[number];

export function isKeyType(value: unknown): value is TransitKeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value);
}

interface KeyVersion {
  privateKey?: KeyObject;
  secret?: Buffer;
  creationTime: string;
}

/** A Transit error: Vault answers 400 with `{"errors": [message]}` for what the caller got wrong. */
export class TransitError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Vault's names for hashes, mapped to Node's; the ones the emulator signs with. */
export const HASHES: Readonly<Record<string, 'sha256' | 'sha384' | 'sha512'>> = {
  'sha2-256': 'sha256',
  'sha2-384': 'sha384',
  'sha2-512': 'sha512',
};
const KNOWN_HASHES = new Set([
  'sha1',
  'sha2-224',
  'sha2-256',
  'sha2-384',
  'sha2-512',
  'sha3-224',
  'sha3-256',
  'sha3-384',
  'sha3-512',
  'none',
]);

export interface SignParameters {
  /** 0 (or absent) for the latest version. */
  keyVersion: number;
  input: Buffer;
  prehashed: boolean;
  /** Vault's hash name (sha2-256 by default). */
  hash: string;
  /** RSA only: `pss` (Vault's default) or `pkcs1v15`. */
  signatureAlgorithm?: string;
  marshaling: string;
}

export class TransitKey {
  readonly versions = new Map<number, KeyVersion>();
  latestVersion = 0;
  minDecryptionVersion = 1;
  minEncryptionVersion = 0;
  deletionAllowed = false;

  constructor(
    readonly name: string,
    readonly type: TransitKeyType,
  ) {
    this.rotate();
  }

  /** Adds a version and makes it the latest. */
  rotate(): number {
    this.latestVersion += 1;
    this.versions.set(this.latestVersion, { ...generate(this.type), creationTime: new Date().toISOString() });
    return this.latestVersion;
  }

  /** The SPKI PEM of a version (the latest by default), for tests to compare with. */
  publicKeyPem(version = this.latestVersion): string {
    const key = this.versions.get(version)?.privateKey;
    if (!key) throw new Error(`${this.name} has no asymmetric version ${version}`);
    return crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  }

  /** The `data` of `GET /v1/<mount>/keys/<name>`, as Vault formats it. */
  describe(): Record<string, unknown> {
    const signing = this.type !== 'aes256-gcm96';
    const keys: Record<string, unknown> = {};
    for (const [version, entry] of this.versions) {
      keys[String(version)] = entry.privateKey
        ? {
            name: keyName(this.type),
            public_key: formatPublicKey(this.type, entry.privateKey),
            creation_time: entry.creationTime,
            certificate_chain: '',
          }
        : Math.floor(Date.parse(entry.creationTime) / 1000);
    }
    return {
      name: this.name,
      type: this.type,
      derived: false,
      deletion_allowed: this.deletionAllowed,
      exportable: false,
      allow_plaintext_backup: false,
      keys,
      latest_version: this.latestVersion,
      min_available_version: 0,
      min_decryption_version: this.minDecryptionVersion,
      min_encryption_version: this.minEncryptionVersion,
      supports_encryption: !signing,
      supports_decryption: !signing,
      supports_derivation: !signing,
      supports_signing: signing,
      auto_rotate_period: 0,
      imported_key: false,
    };
  }

  /** Vault's policy.Sign: the version rules first, then the signature. */
  sign(parameters: SignParameters): { version: number; signature: Buffer } {
    if (!(SIGNING_KEY_TYPES as readonly string[]).includes(this.type)) {
      throw new TransitError(400, `key type ${this.type} does not support signing`);
    }
    let version = parameters.keyVersion;
    if (version === 0) version = this.latestVersion;
    else if (version < 0) throw new TransitError(400, 'requested version for signing is negative');
    else if (version > this.latestVersion)
      throw new TransitError(400, 'requested version for signing is higher than the latest key version');
    else if (this.minEncryptionVersion > 0 && version < this.minEncryptionVersion) {
      throw new TransitError(400, 'requested version for signing is less than the minimum encryption key version');
    }
    const privateKey = this.versions.get(version)?.privateKey;
    if (!privateKey) throw new TransitError(400, 'key version not found');
    if (parameters.marshaling !== 'asn1') {
      throw new TransitError(
        400,
        `marshaling type ${JSON.stringify(parameters.marshaling)} is not implemented by the emulator (only asn1)`,
      );
    }
    return { version, signature: signWith(this.type, privateKey, parameters) };
  }
}

function signWith(type: TransitKeyType, privateKey: KeyObject, p: SignParameters): Buffer {
  if (type === 'ed25519') {
    // Pure Ed25519 over the input. (Newer Vaults read prehashed as Ed25519ph, a different scheme.)
    if (p.prehashed) throw new TransitError(400, 'the emulator signs pure Ed25519 only: send the message, without prehashed');
    return crypto.sign(null, p.input, privateKey);
  }
  if (!KNOWN_HASHES.has(p.hash)) throw new TransitError(400, `invalid hash algorithm ${JSON.stringify(p.hash)}`);
  const hash = HASHES[p.hash];
  if (!hash) throw new TransitError(400, `the emulator signs with sha2-256, sha2-384 and sha2-512, not ${p.hash}`);
  const digest = p.prehashed ? p.input : crypto.createHash(hash).update(p.input).digest();
  if (type.startsWith('ecdsa-')) {
    // Transit signs whatever digest it is given with the key's curve.
    return signDigest(privateKey, ECDSA_ALGORITHMS[type] as SignatureAlgorithm, digest);
  }
  if (digest.length !== crypto.createHash(hash).digest().length) throw new TransitError(400, 'input must be hashed message');
  const padding = p.signatureAlgorithm || 'pss';
  if (padding === 'pkcs1v15') return signDigest(privateKey, `rsa-pkcs1v15-${hash}`, digest);
  if (padding === 'pss') return pssSignMaxSalt(privateKey, hash, digest);
  throw new TransitError(400, `unsupported rsa signature algorithm ${padding}`);
}

const ECDSA_ALGORITHMS: Partial<Record<TransitKeyType, SignatureAlgorithm>> = {
  'ecdsa-p256': 'ecdsa-p256-sha256',
  'ecdsa-p384': 'ecdsa-p384-sha384',
  'ecdsa-p521': 'ecdsa-p521-sha512',
};

/**
 * RSASSA-PSS (RFC 8017 §9.1.1) with the longest salt the modulus allows, which is what Go's
 * rsa.SignPSS does with PSSSaltLengthAuto and so what Vault sends. Written out here, apart
 * from Signet's own PSS code, so the provider is tested against an independent encoder.
 */
function pssSignMaxSalt(privateKey: KeyObject, hash: 'sha256' | 'sha384' | 'sha512', digest: Buffer): Buffer {
  const modulusBits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const emBits = modulusBits - 1;
  const emLength = Math.ceil(emBits / 8);
  const hashLength = digest.length;
  const saltLength = emLength - hashLength - 2;
  const salt = crypto.randomBytes(saltLength);
  const h = crypto
    .createHash(hash)
    .update(Buffer.concat([Buffer.alloc(8), digest, salt]))
    .digest();
  const db = Buffer.concat([Buffer.alloc(emLength - saltLength - hashLength - 2), Buffer.of(1), salt]);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLength - emBits));
  const encoded = Buffer.concat([db, h, Buffer.of(0xbc)]);
  const modulusBytes = Math.ceil(modulusBits / 8);
  const block = Buffer.concat([Buffer.alloc(modulusBytes - encoded.length), encoded]);
  return crypto.privateEncrypt({ key: privateKey, padding: crypto.constants.RSA_NO_PADDING }, block);
}

function mgf1(hash: string, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * seed.length < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(crypto.createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function generate(type: TransitKeyType): Pick<KeyVersion, 'privateKey' | 'secret'> {
  switch (type) {
    case 'ecdsa-p256':
    case 'ecdsa-p384':
    case 'ecdsa-p521': {
      const namedCurve = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' }[type];
      return { privateKey: crypto.generateKeyPairSync('ec', { namedCurve }).privateKey };
    }
    case 'ed25519':
      return { privateKey: crypto.generateKeyPairSync('ed25519').privateKey };
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return { privateKey: crypto.generateKeyPairSync('rsa', { modulusLength: Number(type.slice(4)) }).privateKey };
    case 'aes256-gcm96':
      return { secret: crypto.randomBytes(32) };
  }
}

/** Vault's `name` for a version: Go's curve name, or the key type. */
function keyName(type: TransitKeyType): string {
  return { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' }[type as string] ?? type;
}

/** Vault's `public_key`: a PKIX PEM, except Ed25519's, which is base64 of the raw 32 bytes. */
function formatPublicKey(type: TransitKeyType, privateKey: KeyObject): string {
  const publicKey = crypto.createPublicKey(privateKey);
  if (type === 'ed25519') return Buffer.from(exportJwk(publicKey).x ?? '', 'base64url').toString('base64');
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}
