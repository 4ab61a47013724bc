import crypto, { type KeyObject } from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';
import { type AlgorithmInfo, algorithmInfo, type HashAlgorithm, type SignatureAlgorithm } from './algorithms';
import { SignetError } from './errors';

/*
 * Signing and verifying a precomputed digest. Node's crypto.sign/verify always hash
 * their input, so a 1 GiB artifact would have to be hashed twice (once for the
 * bundle's digest, once inside the signature) or held in memory. Instead Signet
 * hashes once, streaming, and signs or verifies that digest: ECDSA with
 * @noble/curves, RSA with OpenSSL's raw RSA operation over the standard encodings.
 * KMS providers need the same thing: they receive a digest, never the artifact.
 */

type Curve = typeof import('@noble/curves/p256').p256;

// Loaded on first use: small artifacts and DSSE payloads are verified by OpenSSL and never
// need them. A small precomputation window keeps the first signature of a process cheap
// (the default table costs tens of milliseconds to build), at a small cost per operation.
const loaded = new Map<string, Curve>();
function curve(name: string | undefined): Curve | undefined {
  const cached = loaded.get(name ?? '');
  if (cached) return cached;
  let ec: Curve | undefined;
  if (name === 'P-256') ec = (require('@noble/curves/p256') as typeof import('@noble/curves/p256')).p256;
  else if (name === 'P-384') ec = (require('@noble/curves/p384') as typeof import('@noble/curves/p384')).p384 as unknown as Curve;
  else if (name === 'P-521') ec = (require('@noble/curves/p521') as typeof import('@noble/curves/p521')).p521 as unknown as Curve;
  if (!ec) return undefined;
  ec.Point.BASE.precompute(4);
  loaded.set(name as string, ec);
  return ec;
}

// JWKs by key object: each signature and verification with a key reads the same one.
const jwks = new WeakMap<KeyObject, crypto.JsonWebKey>();

/**
 * A key's JWK, exported from a copy re-imported from DER. Node 20 holds a key's mutex while
 * it builds an EC or OKP JWK's strings; a garbage collection during that allocation can free
 * the job that generated the key (crypto.generateKeyPair*), whose destructor takes the same
 * mutex, and the process hangs for good (seen in CI, under load). The copy shares nothing
 * with that job, and the DER export takes no such lock.
 */
export function exportJwk(key: KeyObject): crypto.JsonWebKey {
  let jwk = jwks.get(key);
  if (!jwk) {
    const copy =
      key.type === 'private'
        ? crypto.createPrivateKey({ key: key.export({ type: 'pkcs8', format: 'der' }), format: 'der', type: 'pkcs8' })
        : crypto.createPublicKey({ key: key.export({ type: 'spki', format: 'der' }), format: 'der', type: 'spki' });
    jwk = copy.export({ format: 'jwk' });
    jwks.set(key, jwk);
  }
  return jwk;
}

/**
 * DigestInfo prefixes for EMSA-PKCS1-v1_5, verbatim from RFC 8017 §9.2 note 1
 * (the same constants OpenSSL and Go's crypto/rsa use).
 */
const DIGEST_INFO_PREFIX: Record<HashAlgorithm, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** EMSA-PKCS1-v1_5's DigestInfo for a digest: what an RSA PKCS#1 v1.5 signature encrypts (for HSMs signing raw). */
export function rsaDigestInfo(hash: HashAlgorithm, digest: Uint8Array): Buffer {
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
}

/** Signs `digest` (computed with the algorithm's hash) and returns a DER/raw-RSA signature. */
export function signDigest(privateKey: KeyObject, algorithm: SignatureAlgorithm, digest: Uint8Array): Buffer {
  const info = algorithmInfo(algorithm);
  switch (info.family) {
    case 'ecdsa': {
      const jwk = exportJwk(privateKey);
      const ec = curve(jwk.crv);
      if (!ec) throw new SignetError({ code: 'E_KEY', message: `unsupported curve ${jwk.crv}` });
      const d = Buffer.from(jwk.d ?? '', 'base64url');
      return Buffer.from(ec.sign(digest, d, { prehash: false, lowS: false }).toDERRawBytes());
    }
    case 'rsa-pkcs1v15':
      return crypto.privateEncrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_PADDING }, rsaDigestInfo(info.hash, digest));
    case 'rsa-pss': {
      const modulusBits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
      const encoded = pssEncode(info.hash, digest, modulusBits);
      return crypto.privateEncrypt(
        { key: plainRsa(privateKey), padding: crypto.constants.RSA_NO_PADDING },
        leftPad(encoded, Math.ceil(modulusBits / 8)),
      );
    }
    case 'ed25519':
      throw new SignetError({
        code: 'E_INTERNAL',
        message: 'Ed25519 signs the message itself, not a digest',
      });
  }
}

/**
 * Verifies a signature over a precomputed digest. The curve of an ECDSA key comes from
 * the key, so a P-384 key's signature over a SHA-256 digest (as older Sigstore clients
 * wrote) verifies too. Never throws for a bad signature.
 */
export function verifyDigest(
  publicKey: KeyObject,
  family: AlgorithmInfo['family'],
  hash: HashAlgorithm,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    switch (family) {
      case 'ecdsa': {
        const jwk = exportJwk(publicKey);
        const ec = curve(jwk.crv);
        if (!ec) return false;
        const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
        return ec.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
      }
      case 'rsa-pkcs1v15': {
        const recovered = crypto.publicDecrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, signature);
        const expected = rsaDigestInfo(hash, digest);
        return recovered.length === expected.length && crypto.timingSafeEqual(recovered, expected);
      }
      case 'rsa-pss': {
        const modulusBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
        const encoded = crypto.publicDecrypt({ key: plainRsa(publicKey), padding: crypto.constants.RSA_NO_PADDING }, signature);
        return pssVerify(hash, digest, encoded, modulusBits);
      }
      case 'ed25519':
        return false;
    }
  } catch {
    return false;
  }
}

// EMSA-PSS (RFC 8017 §9.1) through node-forge, loaded only when an RSA-PSS key is used.
type Forge = typeof import('node-forge');
let forgeModule: Forge | undefined;
function forge(): Forge {
  forgeModule ??= require('node-forge') as Forge;
  return forgeModule;
}

function pss(hash: HashAlgorithm, saltLength: number) {
  const f = forge();
  return f.pss.create({
    md: f.md[hash].create(),
    mgf: f.mgf.mgf1.create(f.md[hash].create()),
    saltLength,
  });
}

/** The digest as forge's message-digest shape; encode() only reads its value. */
function precomputed(digest: Uint8Array) {
  const value = Buffer.from(digest).toString('binary');
  return { digest: () => forge().util.createBuffer(value) } as unknown as import('node-forge').md.MessageDigest;
}

function pssEncode(hash: HashAlgorithm, digest: Uint8Array, modulusBits: number): Buffer {
  // Salt as long as the digest: what AWS, GCP and Azure produce and every verifier accepts.
  const encoded = pss(hash, digest.length).encode(precomputed(digest), modulusBits);
  return Buffer.from(encoded, 'binary');
}

function pssVerify(hash: HashAlgorithm, digest: Uint8Array, encoded: Buffer, modulusBits: number): boolean {
  const emLength = Math.ceil((modulusBits - 1) / 8);
  const em = encoded.subarray(encoded.length - emLength).toString('binary');
  const mHash = Buffer.from(digest).toString('binary');
  // The salt length is not in the signature: accept the digest length (AWS, GCP, Azure,
  // OpenSSL's default for verification) and the maximum (HashiCorp Vault, OpenSSL's sign default).
  const maxSalt = emLength - digest.length - 2;
  for (const saltLength of new Set([digest.length, maxSalt])) {
    try {
      if (pss(hash, saltLength).verify(mHash, em, modulusBits)) return true;
    } catch {
      // a different salt length makes forge throw on the padding; try the next one
    }
  }
  return false;
}

/**
 * OpenSSL refuses raw RSA with a key typed id-RSASSA-PSS (`openssl genpkey -algorithm
 * RSA-PSS`), so such a key is re-read as the plain RSA key inside it.
 */
function plainRsa(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'rsa-pss') return key;
  if (key.type === 'private') {
    // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING (RSAPrivateKey) }
    const info = ASN1Obj.parseBuffer(key.export({ format: 'der', type: 'pkcs8' }));
    return crypto.createPrivateKey({ key: requireSub(info, 2).value, format: 'der', type: 'pkcs1' });
  }
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING (RSAPublicKey) }
  const spki = ASN1Obj.parseBuffer(key.export({ format: 'der', type: 'spki' }));
  // A BIT STRING's first content byte counts unused bits (0 here).
  return crypto.createPublicKey({ key: requireSub(spki, 1).value.subarray(1), format: 'der', type: 'pkcs1' });
}

function requireSub(obj: ASN1Obj, index: number): ASN1Obj {
  const sub = obj.subs[index];
  if (!sub) throw new SignetError({ code: 'E_KEY', message: 'malformed RSA-PSS key' });
  return sub;
}

function leftPad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}
