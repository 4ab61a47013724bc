import crypto, { type KeyObject } from 'node:crypto';
import type { Envelope } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import type { HashAlgorithm } from './algorithms';
import { type Digests, readRegularFileSync } from './digest';
import { SignetError } from './errors';
import { verifyDigest } from './prehash';

/*
 * Our implementations of @sigstore/verify's SignatureContent: the seam through which
 * its Verifier checks the signature itself. Replacing it (rather than forking
 * sigstore-js) is how Signet verifies what the pinned @sigstore/verify rejects:
 * ECDSA P-384/P-521 with their own hashes in DSSE, RSA-PSS, Ed25519 message
 * signatures, and signatures over an artifact known only by its digest or too large
 * to hold in memory.
 */

/** The artifact as verification sees it: its digests, and its bytes when they are in memory. */
export interface PreparedArtifact {
  digests: Digests;
  bytes?: Buffer;
  /** A file that can be re-read when a signature covers the whole message (Ed25519). */
  path?: string;
}

/** Mirrors @sigstore/verify's SignatureContent, which its index does not export. */
export interface SignatureContent {
  signature: Buffer;
  compareSignature(signature: Buffer): boolean;
  compareDigest(digest: Buffer): boolean;
  verifySignature(key: KeyObject): boolean;
}

const CURVE_HASH: Record<string, HashAlgorithm> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };

/** A message signature over an artifact given by bytes, by a file, or only by its digest. */
export class MessageSignatureCheck implements SignatureContent {
  /** Set when the key signs whole messages (Ed25519) but only a digest of the artifact is known. */
  needsArtifactBytes = false;
  private artifact: PreparedArtifact = { digests: {} };

  constructor(
    readonly signature: Buffer,
    private readonly messageDigest: Buffer,
    private readonly hash: HashAlgorithm,
  ) {}

  /** The artifact the signature is checked over, once its digests are known. */
  prepare(artifact: PreparedArtifact): void {
    this.artifact = artifact;
  }

  compareSignature(signature: Buffer): boolean {
    return bufferEqual(signature, this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    return bufferEqual(digest, this.messageDigest);
  }

  verifySignature(key: KeyObject): boolean {
    const type = key.asymmetricKeyType;
    if (type === 'ed25519') {
      const bytes = this.artifact.bytes ?? (this.artifact.path ? readRegularFileSync(this.artifact.path) : undefined);
      if (!bytes) {
        this.needsArtifactBytes = true;
        return false;
      }
      return nativeVerify(null, bytes, key, this.signature);
    }
    if (this.artifact.bytes) {
      // In memory: OpenSSL hashes and verifies in one native call, the fastest path.
      return rsaPaddings(key).some((padding) => nativeVerify(this.hash, this.artifact.bytes as Buffer, key, this.signature, padding));
    }
    const digest = this.artifact.digests[this.hash];
    if (!digest) return false;
    if (type === 'ec') return verifyDigest(key, 'ecdsa', this.hash, digest, this.signature);
    return rsaPaddings(key).some((padding) =>
      verifyDigest(key, padding === crypto.constants.RSA_PKCS1_PSS_PADDING ? 'rsa-pss' : 'rsa-pkcs1v15', this.hash, digest, this.signature),
    );
  }
}

/** A DSSE envelope: the signature covers the pre-authentication encoding of its payload. */
export class DsseSignatureCheck implements SignatureContent {
  readonly signature: Buffer;
  private readonly pae: Buffer;
  private readonly payloadDigest: Buffer;
  private readonly paeDigests: Buffer[];

  constructor(envelope: Envelope) {
    const [first] = envelope.signatures;
    if (envelope.signatures.length !== 1 || !first) {
      throw new SignetError({
        code: 'E_BUNDLE',
        message: `a bundle's DSSE envelope must carry exactly one signature, this one has ${envelope.signatures.length}`,
      });
    }
    this.signature = first.sig;
    this.pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
    this.payloadDigest = crypto.createHash('sha256').update(envelope.payload).digest();
    // Rekor v2 hashes the PAE with the key's own hash (SHA-384 for P-384, SHA-512 for P-521).
    this.paeDigests = (['sha256', 'sha384', 'sha512'] as const).map((hash) => crypto.createHash(hash).update(this.pae).digest());
  }

  compareSignature(signature: Buffer): boolean {
    return bufferEqual(signature, this.signature);
  }

  /**
   * A `dsse` log entry records the payload's digest; Rekor v2's hashedrekord-over-DSSE
   * (rekor-v2-spec §6.1.4) records the digest of the pre-authentication encoding, in the hash
   * its key signs with. Each binds the entry to this envelope, so either matches.
   */
  compareDigest(digest: Buffer): boolean {
    return bufferEqual(digest, this.payloadDigest) || this.paeDigests.some((paeDigest) => bufferEqual(digest, paeDigest));
  }

  verifySignature(key: KeyObject): boolean {
    if (key.asymmetricKeyType === 'ed25519') return nativeVerify(null, this.pae, key, this.signature);
    return dsseHashes(key).some((hash) => rsaPaddings(key).some((padding) => nativeVerify(hash, this.pae, key, this.signature, padding)));
  }
}

/**
 * The hashes a DSSE signature by this key may use: for ECDSA the curve's own (P-384
 * signs SHA-384, as Sigstore's algorithm registry says), then SHA-256, which sigstore-js
 * and older cosign use with every key.
 */
function dsseHashes(key: KeyObject): HashAlgorithm[] {
  const details = key.asymmetricKeyDetails ?? {};
  // An RSA-PSS key may be restricted to one hash; OpenSSL refuses any other.
  if (details.hashAlgorithm) return [details.hashAlgorithm as HashAlgorithm];
  // A plain RSA key's SPKI names no hash, and services tie it to the key size (Azure,
  // cosign: 3072 bits → SHA-384, 4096 → SHA-512) or offer SHA-512 (GCP): try each.
  if (key.asymmetricKeyType === 'rsa') return ['sha256', 'sha384', 'sha512'];
  const natural = CURVE_HASH[details.namedCurve ?? ''] ?? 'sha256';
  return natural === 'sha256' ? ['sha256'] : [natural, 'sha256'];
}

/**
 * The paddings an RSA key's signatures may use. A key typed RSA-PSS signs only PSS;
 * a plain RSA key's SPKI does not say (a KMS RSA key signs either), so both are tried.
 * Non-RSA keys get one entry, ignored by nativeVerify.
 */
function rsaPaddings(key: KeyObject): number[] {
  if (key.asymmetricKeyType === 'rsa-pss') return [crypto.constants.RSA_PKCS1_PSS_PADDING];
  if (key.asymmetricKeyType === 'rsa') return [crypto.constants.RSA_PKCS1_PADDING, crypto.constants.RSA_PKCS1_PSS_PADDING];
  return [0];
}

function nativeVerify(hash: HashAlgorithm | null, data: Buffer, key: KeyObject, signature: Buffer, padding = 0): boolean {
  try {
    if (padding === crypto.constants.RSA_PKCS1_PSS_PADDING) {
      // A key restricted to one salt length (as `signet key generate` makes them) must be
      // verified with it; OpenSSL refuses "auto" for such keys. Otherwise any salt is fine.
      const saltLength = key.asymmetricKeyDetails?.saltLength ?? crypto.constants.RSA_PSS_SALTLEN_AUTO;
      return crypto.verify(hash, data, { key, padding, saltLength }, signature);
    }
    return crypto.verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

function bufferEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
