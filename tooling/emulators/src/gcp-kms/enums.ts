import type { SignatureAlgorithm } from '@signet/core';

/*
 * The Cloud KMS enums the emulator speaks, with the numbers google/cloud/kms/v1/resources.proto
 * gives them: REST clients ask for numeric enums (`$alt=json;enum-encoding=int`), gRPC
 * carries the numbers on the wire and proto-loader hands the emulator their names.
 */

export const PURPOSES = { CRYPTO_KEY_PURPOSE_UNSPECIFIED: 0, ENCRYPT_DECRYPT: 1, ASYMMETRIC_SIGN: 5, ASYMMETRIC_DECRYPT: 6 } as const;

export const STATES = {
  CRYPTO_KEY_VERSION_STATE_UNSPECIFIED: 0,
  ENABLED: 1,
  DISABLED: 2,
  DESTROYED: 3,
  DESTROY_SCHEDULED: 4,
  PENDING_GENERATION: 5,
} as const;

export const PROTECTION_LEVELS = { PROTECTION_LEVEL_UNSPECIFIED: 0, SOFTWARE: 1, HSM: 2 } as const;

export type Purpose = keyof typeof PURPOSES;
export type VersionState = keyof typeof STATES;
export type ProtectionLevel = keyof typeof PROTECTION_LEVELS;

/** How the emulator makes and uses a key of each algorithm. */
export interface AlgorithmSpec {
  number: number;
  purpose: Purpose;
  /** Node's key generation parameters; absent for symmetric keys (no key material is kept). */
  key?: { type: 'ec'; namedCurve: string } | { type: 'rsa'; modulusLength: number } | { type: 'ed25519' };
  /** The digest AsymmetricSign expects; absent for Ed25519, which signs `data`. */
  hash?: 'sha256' | 'sha384' | 'sha512';
  /** How core signs it; absent where the emulator cannot sign (secp256k1). */
  signature?: SignatureAlgorithm;
}

export const ALGORITHMS: Record<string, AlgorithmSpec> = {
  GOOGLE_SYMMETRIC_ENCRYPTION: { number: 1, purpose: 'ENCRYPT_DECRYPT' },
  RSA_SIGN_PSS_2048_SHA256: rsa(2, 2048, 'sha256', 'rsa-pss-sha256'),
  RSA_SIGN_PSS_3072_SHA256: rsa(3, 3072, 'sha256', 'rsa-pss-sha256'),
  RSA_SIGN_PSS_4096_SHA256: rsa(4, 4096, 'sha256', 'rsa-pss-sha256'),
  RSA_SIGN_PSS_4096_SHA512: rsa(15, 4096, 'sha512', 'rsa-pss-sha512'),
  RSA_SIGN_PKCS1_2048_SHA256: rsa(5, 2048, 'sha256', 'rsa-pkcs1v15-sha256'),
  RSA_SIGN_PKCS1_3072_SHA256: rsa(6, 3072, 'sha256', 'rsa-pkcs1v15-sha256'),
  RSA_SIGN_PKCS1_4096_SHA256: rsa(7, 4096, 'sha256', 'rsa-pkcs1v15-sha256'),
  RSA_SIGN_PKCS1_4096_SHA512: rsa(16, 4096, 'sha512', 'rsa-pkcs1v15-sha512'),
  EC_SIGN_P256_SHA256: ec(12, 'P-256', 'sha256', 'ecdsa-p256-sha256'),
  EC_SIGN_P384_SHA384: ec(13, 'P-384', 'sha384', 'ecdsa-p384-sha384'),
  EC_SIGN_SECP256K1_SHA256: ec(31, 'secp256k1', 'sha256'),
  EC_SIGN_ED25519: { number: 40, purpose: 'ASYMMETRIC_SIGN', key: { type: 'ed25519' }, signature: 'ed25519' },
};

function rsa(number: number, modulusLength: number, hash: AlgorithmSpec['hash'], signature: SignatureAlgorithm): AlgorithmSpec {
  return { number, purpose: 'ASYMMETRIC_SIGN', key: { type: 'rsa', modulusLength }, hash, signature };
}

function ec(number: number, namedCurve: string, hash: AlgorithmSpec['hash'], signature?: SignatureAlgorithm): AlgorithmSpec {
  return { number, purpose: 'ASYMMETRIC_SIGN', key: { type: 'ec', namedCurve }, hash, signature };
}

export const ENUMS = {
  purpose: PURPOSES as Record<string, number>,
  state: STATES as Record<string, number>,
  protectionLevel: PROTECTION_LEVELS as Record<string, number>,
  algorithm: Object.fromEntries(Object.entries(ALGORITHMS).map(([name, spec]) => [name, spec.number])) as Record<string, number>,
};

export type EnumName = keyof typeof ENUMS;

/** An enum value from a request (a name, or a number as REST clients send it) as its name. */
export function enumName(kind: EnumName, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const table = ENUMS[kind];
  if (typeof value === 'number' || /^\d+$/.test(String(value))) {
    const number = Number(value);
    return Object.keys(table).find((name) => table[name] === number) ?? `UNKNOWN_${number}`;
  }
  return String(value);
}

/** An enum name as REST answers it: its number when the client asked for numeric enums. */
export function enumValue(kind: EnumName, name: string, numeric: boolean): string | number {
  return numeric ? (ENUMS[kind][name] ?? 0) : name;
}
