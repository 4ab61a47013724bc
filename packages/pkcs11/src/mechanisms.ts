import { algorithmInfo, ecdsaRawToDer, type HashAlgorithm, rsaDigestInfo, type SignatureAlgorithm } from '@signet/core';
import { ObjectIdentifier } from 'asn1js';
import type * as Pkcs11js from 'pkcs11js';
import type { Pkcs11Library } from './cryptoki';

/*
 * How each Signet algorithm is signed and generated on a token. The token signs what it
 * is given: a digest for ECDSA and RSA-PSS, DigestInfo‖digest for RSA PKCS#1 v1.5, so the
 * artifact never leaves the machine; Ed25519 (CKM_EDDSA) signs the message itself.
 */

/** PKCS#11 3.0 values pkcs11js (2.40) does not name; SoftHSM 2.6 implements them. */
export const CKK_EC_EDWARDS = 0x40;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;

/** Named curves by the OID in CKA_EC_PARAMS, with Node's name for them. */
export const CURVES = {
  'P-256': { oid: '1.2.840.10045.3.1.7', nodeName: 'prime256v1', algorithm: 'ecdsa-p256-sha256' },
  'P-384': { oid: '1.3.132.0.34', nodeName: 'secp384r1', algorithm: 'ecdsa-p384-sha384' },
  'P-521': { oid: '1.3.132.0.35', nodeName: 'secp521r1', algorithm: 'ecdsa-p521-sha512' },
} as const;
export type CurveName = keyof typeof CURVES;

/** Ed25519 in CKA_EC_PARAMS: the OID id-Ed25519 (RFC 8410), or the PrintableString PKCS#11 3.0 also allows. */
export const ED25519_OID = '1.3.101.112';
export const ED25519_PARAMS_NAME = 'edwards25519';

export interface SigningRecipe {
  mechanism: Pkcs11js.Mechanism;
  /** What the token signs, from the digest (or, for Ed25519, the message). */
  input(data: Buffer): Buffer;
  /** The token's answer as a bundle carries it. */
  signature(raw: Buffer): Buffer;
}

/** The mechanism and input for signing with `algorithm`. */
export function signingRecipe(p11: Pkcs11Library, algorithm: SignatureAlgorithm): SigningRecipe {
  const info = algorithmInfo(algorithm);
  const same = (bytes: Buffer) => bytes;
  switch (info.family) {
    case 'ecdsa':
      // CKM_ECDSA returns raw r‖s (PKCS#11 §2.3.1); bundles carry DER.
      return { mechanism: { mechanism: p11.CKM_ECDSA }, input: same, signature: ecdsaRawToDer };
    case 'rsa-pkcs1v15':
      return {
        mechanism: { mechanism: p11.CKM_RSA_PKCS },
        input: (digest) => rsaDigestInfo(info.hash, digest),
        signature: same,
      };
    case 'rsa-pss': {
      const pss = PSS[info.hash](p11);
      return {
        // Salt as long as the digest, as AWS, GCP and Azure sign and every verifier accepts.
        mechanism: { mechanism: p11.CKM_RSA_PKCS_PSS, parameter: { type: p11.CK_PARAMS_RSA_PSS, ...pss } },
        input: same,
        signature: same,
      };
    }
    case 'ed25519':
      return { mechanism: { mechanism: CKM_EDDSA }, input: same, signature: same };
  }
}

const PSS: Record<HashAlgorithm, (p11: Pkcs11Library) => { hashAlg: number; mgf: number; saltLen: number }> = {
  sha256: (p11) => ({ hashAlg: p11.CKM_SHA256, mgf: p11.CKG_MGF1_SHA256, saltLen: 32 }),
  sha384: (p11) => ({ hashAlg: p11.CKM_SHA384, mgf: p11.CKG_MGF1_SHA384, saltLen: 48 }),
  sha512: (p11) => ({ hashAlg: p11.CKM_SHA512, mgf: p11.CKG_MGF1_SHA512, saltLen: 64 }),
};

/** What `signet key generate --algorithm` can make on a token. */
type KeySpec =
  | { kind: 'ec'; curve: CurveName }
  | { kind: 'ed25519' }
  | { kind: 'rsa'; bits: 2048 | 3072 | 4096; padding: 'pkcs1v15' | 'pss' };

export const GENERATED: Readonly<Record<string, KeySpec>> = {
  'ecdsa-p256': { kind: 'ec', curve: 'P-256' },
  'ecdsa-p384': { kind: 'ec', curve: 'P-384' },
  'ecdsa-p521': { kind: 'ec', curve: 'P-521' },
  ed25519: { kind: 'ed25519' },
  'rsa-2048': { kind: 'rsa', bits: 2048, padding: 'pkcs1v15' },
  'rsa-3072': { kind: 'rsa', bits: 3072, padding: 'pkcs1v15' },
  'rsa-4096': { kind: 'rsa', bits: 4096, padding: 'pkcs1v15' },
  'rsa-pss-2048': { kind: 'rsa', bits: 2048, padding: 'pss' },
  'rsa-pss-3072': { kind: 'rsa', bits: 3072, padding: 'pss' },
  'rsa-pss-4096': { kind: 'rsa', bits: 4096, padding: 'pss' },
};

export interface Generation {
  mechanism: Pkcs11js.Mechanism;
  /** Mechanisms the token must offer to generate and then sign. */
  requires: number[];
  publicTemplate: Pkcs11js.Template;
  privateTemplate: Pkcs11js.Template;
}

/**
 * C_GenerateKeyPair's arguments for a persistent signing key labelled `label`: the private
 * half private, sensitive and never extractable. An RSA key records its padding in
 * CKA_ALLOWED_MECHANISMS, which is how Signet later tells an RSA-PSS key from a PKCS#1 one
 * (and how the token refuses the other padding).
 */
export function generation(
  p11: Pkcs11Library,
  spec: KeySpec,
  label: Buffer,
  id: Buffer,
  encodeMechanisms: (values: number[]) => Buffer,
): Generation {
  const common = [
    { type: p11.CKA_TOKEN, value: true },
    { type: p11.CKA_LABEL, value: label },
    { type: p11.CKA_ID, value: id },
  ];
  const publicTemplate: Pkcs11js.Template = [...common, { type: p11.CKA_PRIVATE, value: false }, { type: p11.CKA_VERIFY, value: true }];
  const privateTemplate: Pkcs11js.Template = [
    ...common,
    { type: p11.CKA_PRIVATE, value: true },
    { type: p11.CKA_SENSITIVE, value: true },
    { type: p11.CKA_EXTRACTABLE, value: false },
    { type: p11.CKA_SIGN, value: true },
  ];
  switch (spec.kind) {
    case 'ec':
      publicTemplate.push({ type: p11.CKA_EC_PARAMS, value: oidDer(CURVES[spec.curve].oid) });
      privateTemplate.push({ type: p11.CKA_DERIVE, value: false });
      return {
        mechanism: { mechanism: p11.CKM_EC_KEY_PAIR_GEN },
        requires: [p11.CKM_EC_KEY_PAIR_GEN, p11.CKM_ECDSA],
        publicTemplate,
        privateTemplate,
      };
    case 'ed25519':
      publicTemplate.push({ type: p11.CKA_EC_PARAMS, value: oidDer(ED25519_OID) });
      privateTemplate.push({ type: p11.CKA_DERIVE, value: false });
      return {
        mechanism: { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
        requires: [CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA],
        publicTemplate,
        privateTemplate,
      };
    case 'rsa': {
      const padding = spec.padding === 'pss' ? p11.CKM_RSA_PKCS_PSS : p11.CKM_RSA_PKCS;
      const allowed = { type: p11.CKA_ALLOWED_MECHANISMS, value: encodeMechanisms([padding]) };
      publicTemplate.push(
        { type: p11.CKA_MODULUS_BITS, value: spec.bits },
        { type: p11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
        { type: p11.CKA_ENCRYPT, value: false },
        allowed,
      );
      privateTemplate.push({ type: p11.CKA_DECRYPT, value: false }, allowed);
      return {
        mechanism: { mechanism: p11.CKM_RSA_PKCS_KEY_PAIR_GEN },
        requires: [p11.CKM_RSA_PKCS_KEY_PAIR_GEN, padding],
        publicTemplate,
        privateTemplate,
      };
    }
  }
}

/** CKA_EC_PARAMS for a named curve: the DER of its OID (encoded by asn1js). */
function oidDer(oid: string): Buffer {
  return Buffer.from(new ObjectIdentifier({ value: oid }).toBER(false));
}
