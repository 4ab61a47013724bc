import crypto, { type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { crc32c } from '@aws-crypto/crc32c';
import { signDigest } from '@signet/core';
import { ALGORITHMS, type ProtectionLevel, type Purpose, type VersionState } from './enums';
import { Code, KmsError } from './status';

/*
 * Key rings, crypto keys and their versions, with real key material: what both transports
 * serve. Every method throws KmsError with the code and wording Cloud KMS uses.
 */

const generateKeyPair = promisify(crypto.generateKeyPair) as (
  type: string,
  options: object,
) => Promise<{ privateKey: KeyObject; publicKey: KeyObject }>;

export interface KeyRingRecord {
  name: string;
  createTime: Date;
}

export interface CryptoKeyRecord {
  name: string;
  purpose: Purpose;
  createTime: Date;
  versionTemplate: { algorithm: string; protectionLevel: ProtectionLevel };
  versions: CryptoKeyVersionRecord[];
}

export interface CryptoKeyVersionRecord {
  name: string;
  number: number;
  state: VersionState;
  algorithm: string;
  protectionLevel: ProtectionLevel;
  createTime: Date;
  generateTime?: Date;
  destroyTime?: Date;
  destroyEventTime?: Date;
  privateKey?: KeyObject;
  publicKeyPem?: string;
}

export interface SignRequest {
  name: string;
  digest?: { hash: string; bytes: Buffer };
  digestCrc32c?: bigint;
  data?: Buffer;
  dataCrc32c?: bigint;
}

export interface SignResult {
  signature: Buffer;
  signatureCrc32c: bigint;
  verifiedDigestCrc32c: boolean;
  verifiedDataCrc32c: boolean;
  name: string;
  protectionLevel: ProtectionLevel;
}

export interface PublicKeyResult {
  pem: string;
  algorithm: string;
  pemCrc32c: bigint;
  name: string;
  protectionLevel: ProtectionLevel;
}

const ID = /^[a-zA-Z0-9_-]{1,63}$/;
const LOCATION = /^projects\/[^/]+\/locations\/[^/]+$/;
const KEY_RING = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+$/;
const CRYPTO_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const VERSION = /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions\/([^/]+)$/;

/** Ed25519 keys sign at most this much data per request. */
export const MAX_DATA_BYTES = 64 * 1024;

export class KmsState {
  private readonly keyRings = new Map<string, KeyRingRecord>();
  private readonly cryptoKeys = new Map<string, CryptoKeyRecord>();

  getKeyRing(name: string): KeyRingRecord {
    requireName(name, KEY_RING, 'KeyRing');
    const ring = this.keyRings.get(name);
    if (!ring) throw new KmsError(Code.NOT_FOUND, `KeyRing ${name} not found.`);
    return ring;
  }

  createKeyRing(parent: string, keyRingId: string): KeyRingRecord {
    requireName(parent, LOCATION, 'Location');
    requireId(keyRingId, 'key_ring_id');
    const name = `${parent}/keyRings/${keyRingId}`;
    if (this.keyRings.has(name)) throw new KmsError(Code.ALREADY_EXISTS, `KeyRing ${name} already exists.`);
    const ring = { name, createTime: new Date() };
    this.keyRings.set(name, ring);
    return ring;
  }

  getCryptoKey(name: string): CryptoKeyRecord {
    requireName(name, CRYPTO_KEY, 'CryptoKey');
    const key = this.cryptoKeys.get(name);
    if (!key) throw new KmsError(Code.NOT_FOUND, `CryptoKey ${name} not found.`);
    return key;
  }

  async createCryptoKey(
    parent: string,
    cryptoKeyId: string,
    spec: { purpose?: string; algorithm?: string; protectionLevel?: string },
    skipInitialVersionCreation = false,
  ): Promise<CryptoKeyRecord> {
    this.getKeyRing(parent);
    requireId(cryptoKeyId, 'crypto_key_id');
    const name = `${parent}/cryptoKeys/${cryptoKeyId}`;
    if (this.cryptoKeys.has(name)) throw new KmsError(Code.ALREADY_EXISTS, `CryptoKey ${name} already exists.`);
    const purpose = spec.purpose as Purpose | undefined;
    if (!purpose || purpose === 'CRYPTO_KEY_PURPOSE_UNSPECIFIED') {
      throw new KmsError(Code.INVALID_ARGUMENT, 'crypto_key.purpose must be specified.');
    }
    const algorithm = spec.algorithm ?? (purpose === 'ENCRYPT_DECRYPT' ? 'GOOGLE_SYMMETRIC_ENCRYPTION' : undefined);
    if (!algorithm) throw new KmsError(Code.INVALID_ARGUMENT, 'crypto_key.version_template.algorithm must be specified.');
    const known = ALGORITHMS[algorithm];
    if (!known) throw new KmsError(Code.INVALID_ARGUMENT, `The emulator does not support algorithm ${algorithm}.`);
    if (known.purpose !== purpose) {
      throw new KmsError(Code.INVALID_ARGUMENT, `Algorithm ${algorithm} is not compatible with purpose ${purpose}.`);
    }
    const protectionLevel = (
      spec.protectionLevel && spec.protectionLevel !== 'PROTECTION_LEVEL_UNSPECIFIED' ? spec.protectionLevel : 'SOFTWARE'
    ) as ProtectionLevel;
    const key: CryptoKeyRecord = { name, purpose, createTime: new Date(), versionTemplate: { algorithm, protectionLevel }, versions: [] };
    // Generate before publishing the key, so a concurrent reader never sees it half-made.
    const first = skipInitialVersionCreation ? undefined : await this.makeVersion(key);
    if (first) key.versions.push(first);
    this.cryptoKeys.set(name, key);
    return key;
  }

  async createCryptoKeyVersion(parent: string): Promise<CryptoKeyVersionRecord> {
    const key = this.getCryptoKey(parent);
    if (key.purpose === 'ENCRYPT_DECRYPT') {
      throw new KmsError(Code.FAILED_PRECONDITION, 'The emulator keeps no material for symmetric keys; it cannot add versions to them.');
    }
    const version = await this.makeVersion(key);
    key.versions.push(version);
    return version;
  }

  listCryptoKeyVersions(parent: string, filter?: string): CryptoKeyVersionRecord[] {
    const key = this.getCryptoKey(parent);
    const state = parseStateFilter(filter);
    return key.versions.filter((version) => state === undefined || version.state === state);
  }

  getCryptoKeyVersion(name: string): CryptoKeyVersionRecord {
    const match = requireName(name, VERSION, 'CryptoKeyVersion');
    const key = this.cryptoKeys.get(match[1] as string);
    const version = key?.versions.find((v) => String(v.number) === match[2]);
    if (!version) throw new KmsError(Code.NOT_FOUND, `CryptoKeyVersion ${name} not found.`);
    return version;
  }

  updateCryptoKeyVersion(name: string, state: string | undefined, updateMask: readonly string[]): CryptoKeyVersionRecord {
    const version = this.getCryptoKeyVersion(name);
    if (!updateMask.includes('state') || updateMask.some((path) => path !== 'state')) {
      throw new KmsError(Code.INVALID_ARGUMENT, 'The emulator updates only the field "state" (update_mask=state).');
    }
    if (state !== 'ENABLED' && state !== 'DISABLED') {
      throw new KmsError(Code.INVALID_ARGUMENT, `A CryptoKeyVersion's state can be updated only to ENABLED or DISABLED, not ${state}.`);
    }
    if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
      throw new KmsError(Code.FAILED_PRECONDITION, `${name} is in state ${version.state}, which cannot be changed to ${state}.`);
    }
    version.state = state;
    return version;
  }

  destroyCryptoKeyVersion(name: string): CryptoKeyVersionRecord {
    const version = this.getCryptoKeyVersion(name);
    if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
      throw new KmsError(Code.FAILED_PRECONDITION, `${name} is in state ${version.state} and cannot be scheduled for destruction.`);
    }
    version.state = 'DESTROY_SCHEDULED';
    version.destroyTime = new Date(Date.now() + 30 * 24 * 3600 * 1000);
    return version;
  }

  restoreCryptoKeyVersion(name: string): CryptoKeyVersionRecord {
    const version = this.getCryptoKeyVersion(name);
    if (version.state !== 'DESTROY_SCHEDULED') {
      throw new KmsError(
        Code.FAILED_PRECONDITION,
        `${name} is in state ${version.state}; only DESTROY_SCHEDULED versions can be restored.`,
      );
    }
    version.state = 'DISABLED';
    version.destroyTime = undefined;
    return version;
  }

  /** For tests: any state at once, including DESTROYED (which discards the key material, as Cloud KMS does). */
  setVersionState(name: string, state: VersionState): CryptoKeyVersionRecord {
    const version = this.getCryptoKeyVersion(name);
    version.state = state;
    if (state === 'DESTROYED') {
      version.privateKey = undefined;
      version.destroyEventTime = new Date();
    }
    return version;
  }

  getPublicKey(name: string): PublicKeyResult {
    const version = this.usableVersion(name);
    const pem = version.publicKeyPem as string;
    return { pem, algorithm: version.algorithm, pemCrc32c: crc(pem), name, protectionLevel: version.protectionLevel };
  }

  asymmetricSign(request: SignRequest): SignResult {
    const version = this.usableVersion(request.name);
    const spec = ALGORITHMS[version.algorithm];
    const privateKey = version.privateKey;
    if (!spec?.signature || !privateKey) {
      throw new KmsError(Code.UNIMPLEMENTED, `The emulator cannot sign with ${version.algorithm}.`);
    }
    let signature: Buffer;
    if (spec.signature === 'ed25519') {
      if (request.digest) throw new KmsError(Code.INVALID_ARGUMENT, `${version.algorithm} signs data, not a digest; set the field "data".`);
      const data = request.data ?? Buffer.alloc(0);
      if (data.length === 0) throw new KmsError(Code.INVALID_ARGUMENT, 'The field "data" must be set for EC_SIGN_ED25519 keys.');
      if (data.length > MAX_DATA_BYTES) {
        throw new KmsError(Code.INVALID_ARGUMENT, `The field "data" holds ${data.length} bytes; at most ${MAX_DATA_BYTES} are accepted.`);
      }
      checkCrc(data, request.dataCrc32c, 'data');
      signature = crypto.sign(null, data, privateKey);
    } else {
      const digest = request.digest;
      if (!digest || request.data) {
        throw new KmsError(Code.INVALID_ARGUMENT, `${version.algorithm} signs a digest; set the field "digest" (and not "data").`);
      }
      if (digest.hash !== spec.hash) {
        throw new KmsError(
          Code.INVALID_ARGUMENT,
          `The request's digest type (${digest.hash.toUpperCase()}) does not match the key's algorithm (${version.algorithm}).`,
        );
      }
      const expected = crypto.createHash(digest.hash).digest().length;
      if (digest.bytes.length !== expected) {
        throw new KmsError(Code.INVALID_ARGUMENT, `The ${digest.hash} digest must be ${expected} bytes long, not ${digest.bytes.length}.`);
      }
      checkCrc(digest.bytes, request.digestCrc32c, 'digest');
      signature = signDigest(privateKey, spec.signature, digest.bytes);
    }
    return {
      signature,
      signatureCrc32c: crc(signature),
      verifiedDigestCrc32c: request.digestCrc32c !== undefined,
      verifiedDataCrc32c: request.dataCrc32c !== undefined,
      name: request.name,
      protectionLevel: version.protectionLevel,
    };
  }

  /** A version that exists, is enabled and holds an asymmetric key. */
  private usableVersion(name: string): CryptoKeyVersionRecord {
    const version = this.getCryptoKeyVersion(name);
    if (version.state !== 'ENABLED') {
      throw new KmsError(Code.FAILED_PRECONDITION, `${name} is not enabled, current state is: ${version.state}.`);
    }
    if (!version.publicKeyPem) {
      throw new KmsError(Code.FAILED_PRECONDITION, `${name} is not an asymmetric key version; its algorithm is ${version.algorithm}.`);
    }
    return version;
  }

  private async makeVersion(key: CryptoKeyRecord): Promise<CryptoKeyVersionRecord> {
    const number = key.versions.reduce((max, v) => Math.max(max, v.number), 0) + 1;
    const { algorithm, protectionLevel } = key.versionTemplate;
    const spec = ALGORITHMS[algorithm];
    const now = new Date();
    const version: CryptoKeyVersionRecord = {
      name: `${key.name}/cryptoKeyVersions/${number}`,
      number,
      state: 'ENABLED',
      algorithm,
      protectionLevel,
      createTime: now,
      generateTime: now,
    };
    if (spec?.key) {
      const { type, ...options } = spec.key;
      const { privateKey, publicKey } = await generateKeyPair(type, options);
      version.privateKey = privateKey;
      version.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    }
    return version;
  }
}

export function crc(data: string | Uint8Array): bigint {
  return BigInt(crc32c(typeof data === 'string' ? Buffer.from(data) : data));
}

function checkCrc(data: Buffer, expected: bigint | undefined, field: string): void {
  if (expected !== undefined && crc(data) !== expected) {
    throw new KmsError(Code.INVALID_ARGUMENT, `The checksum in field ${field}_crc32c did not match the data in field ${field}.`);
  }
}

function requireName(name: string, pattern: RegExp, kind: string): RegExpExecArray {
  const match = pattern.exec(name);
  if (!match) throw new KmsError(Code.INVALID_ARGUMENT, `Resource name [${name}] does not match any known ${kind} name pattern.`);
  return match;
}

function requireId(id: string, field: string): void {
  if (!ID.test(id)) throw new KmsError(Code.INVALID_ARGUMENT, `${field} must match [a-zA-Z0-9_-]{1,63}, not "${id}".`);
}

/** The list filters the emulator understands: none, or `state=ENABLED` (also `state:ENABLED`). */
function parseStateFilter(filter: string | undefined): VersionState | undefined {
  if (!filter?.trim()) return undefined;
  const match = /^\s*state\s*[=:]\s*"?([A-Z_]+)"?\s*$/.exec(filter);
  if (!match) throw new KmsError(Code.INVALID_ARGUMENT, `The emulator understands only filters like state=ENABLED, not "${filter}".`);
  return match[1] as VersionState;
}
