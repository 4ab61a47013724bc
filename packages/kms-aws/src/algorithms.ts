import { type SignatureAlgorithm, SignetError } from '@signet/core';

/*
 * Which AWS KMS key specs Signet creates and signs with, and how: the signing algorithm
 * is read from the key (KeySpec and the SigningAlgorithms it offers), never from a flag.
 */

/** `signet key generate --algorithm` names → the KeySpec created. */
export const KEY_SPECS: Readonly<Record<string, string>> = {
  'ecdsa-p256': 'ECC_NIST_P256',
  'ecdsa-p384': 'ECC_NIST_P384',
  'ecdsa-p521': 'ECC_NIST_P521',
  'rsa-2048': 'RSA_2048',
  'rsa-3072': 'RSA_3072',
  'rsa-4096': 'RSA_4096',
};

const PSS_REASON =
  'an AWS KMS RSA key signs with PKCS#1 v1.5 and PSS alike, and Signet signs with PKCS#1 v1.5 (create rsa-2048, rsa-3072 or rsa-4096)';

/** Algorithms AWS KMS has but Signet cannot create there, with the reason. */
const REFUSED: Readonly<Record<string, string>> = {
  ed25519:
    'AWS KMS signs Ed25519 only over the whole message (at most 4 KiB, sent to AWS) or as Ed25519ph, which Sigstore bundles do not carry',
  'rsa-pss-2048': PSS_REASON,
  'rsa-pss-3072': PSS_REASON,
  'rsa-pss-4096': PSS_REASON,
};

/** The KeySpec for `--algorithm`, or E_INPUT naming what AWS KMS keys Signet can create. */
export function keySpecFor(algorithm: string): string {
  const spec = KEY_SPECS[algorithm];
  if (spec) return spec;
  const offered = Object.keys(KEY_SPECS).join(', ');
  const reason = REFUSED[algorithm];
  throw new SignetError({
    code: 'E_INPUT',
    message: reason
      ? `cannot create "${algorithm}" keys in AWS KMS: ${reason}; choose one of ${offered}`
      : `cannot create "${algorithm}" keys in AWS KMS; choose one of ${offered}`,
  });
}

/** How a key signs: Signet's algorithm name and the AWS SigningAlgorithm sent with each Sign. */
export interface AwsSigning {
  algorithm: SignatureAlgorithm;
  signingAlgorithm: string;
}

const ECDSA: Readonly<Record<string, AwsSigning>> = {
  ECC_NIST_P256: { algorithm: 'ecdsa-p256-sha256', signingAlgorithm: 'ECDSA_SHA_256' },
  ECC_NIST_P384: { algorithm: 'ecdsa-p384-sha384', signingAlgorithm: 'ECDSA_SHA_384' },
  ECC_NIST_P521: { algorithm: 'ecdsa-p521-sha512', signingAlgorithm: 'ECDSA_SHA_512' },
};

/**
 * The signing algorithm for a key, from its metadata. ECDSA keys sign with the hash of
 * their curve. RSA keys offer PKCS#1 v1.5 and PSS with SHA-256/384/512; Signet picks
 * RSASSA_PKCS1_V1_5_SHA_256 whenever the key offers it (what every verifier accepts from a
 * plain RSA public key), and RSASSA_PSS_SHA_256 only for a key that offers PSS alone.
 * Anything else is refused with E_KEY, saying why.
 */
export function signingFor(keyRef: string, metadata: { keySpec?: string; keyUsage?: string; signingAlgorithms?: string[] }): AwsSigning {
  const { keySpec = 'unknown', keyUsage, signingAlgorithms = [] } = metadata;
  if (keyUsage !== 'SIGN_VERIFY') {
    throw keyError(
      `${keyRef} is a ${keySpec} key for ${keyUsage ?? 'an unknown use'}, not for signing: create one with KeyUsage SIGN_VERIFY`,
    );
  }
  const ecdsa = ECDSA[keySpec];
  if (ecdsa && signingAlgorithms.includes(ecdsa.signingAlgorithm)) return ecdsa;
  if (/^RSA_(2048|3072|4096)$/.test(keySpec)) {
    if (signingAlgorithms.includes('RSASSA_PKCS1_V1_5_SHA_256')) {
      return { algorithm: 'rsa-pkcs1v15-sha256', signingAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' };
    }
    if (signingAlgorithms.includes('RSASSA_PSS_SHA_256')) return { algorithm: 'rsa-pss-sha256', signingAlgorithm: 'RSASSA_PSS_SHA_256' };
  }
  if (keySpec === 'ECC_NIST_EDWARDS25519') {
    throw keyError(
      `${keyRef} is an Ed25519 key, which AWS KMS signs only over the whole message (at most 4 KiB) or as Ed25519ph, which Sigstore bundles do not carry; use an ECC_NIST_P256 key`,
    );
  }
  throw keyError(
    `${keyRef} is a ${keySpec} key offering ${signingAlgorithms.join(', ') || 'no signing algorithm'}; Signet signs with ECC_NIST_P256/P384/P521 (ECDSA) and RSA_2048/3072/4096 (PKCS#1 v1.5 or PSS, SHA-256) keys`,
  );
}

function keyError(message: string): SignetError {
  return new SignetError({ code: 'E_KEY', message });
}
