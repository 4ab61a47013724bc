import type { Failure, FailureKind } from '@signet/core';

/*
 * What a PKCS#11 return value means for the user. Device trouble is retried (a network
 * HSM that lost its link, a token busy elsewhere); a wrong PIN, a missing key or a key
 * that may not sign fails at once, with the return value's name as the detail.
 */

/** A failure our own code decides on (no such token, two keys match), classified like the module's. */
export class Refusal extends Error {
  constructor(readonly failure: Failure) {
    super(failure.detail ?? failure.kind);
    this.name = 'Refusal';
  }
}

const KINDS: Readonly<Record<string, FailureKind>> = {
  CKR_PIN_INCORRECT: 'permission',
  CKR_PIN_LOCKED: 'permission',
  CKR_PIN_EXPIRED: 'permission',
  CKR_PIN_INVALID: 'permission',
  CKR_PIN_LEN_RANGE: 'permission',
  CKR_TOKEN_WRITE_PROTECTED: 'permission',
  CKR_USER_NOT_LOGGED_IN: 'unauthenticated',
  CKR_USER_PIN_NOT_INITIALIZED: 'unauthenticated',
  // CKA_SIGN is false: the token's officer has not allowed (or has withdrawn) signing with it.
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'disabled',
  CKR_KEY_HANDLE_INVALID: 'not-found',
  CKR_OBJECT_HANDLE_INVALID: 'not-found',
  CKR_DEVICE_ERROR: 'unavailable',
  // someone else in the process finalised the module mid-conversation; the next attempt initialises it
  CKR_CRYPTOKI_NOT_INITIALIZED: 'unavailable',
  CKR_DEVICE_MEMORY: 'unavailable',
  CKR_DEVICE_REMOVED: 'unavailable',
  CKR_TOKEN_NOT_PRESENT: 'unavailable',
  CKR_TOKEN_NOT_RECOGNIZED: 'unavailable',
  CKR_SESSION_CLOSED: 'unavailable',
  CKR_SESSION_HANDLE_INVALID: 'unavailable',
  CKR_SESSION_COUNT: 'unavailable',
  CKR_FUNCTION_FAILED: 'unavailable',
  CKR_FUNCTION_CANCELED: 'unavailable',
  CKR_GENERAL_ERROR: 'unavailable',
  CKR_HOST_MEMORY: 'unavailable',
};

/** The CKR_… name of a PKCS#11 error (pkcs11js puts it in the message), if it is one. */
export function returnValueOf(error: unknown): string | undefined {
  const message = (error as Error | undefined)?.message;
  return typeof message === 'string' && /^CKR_[A-Z0-9_]+$/.test(message) ? message : undefined;
}

export function classify(error: unknown): Failure {
  if (error instanceof Refusal) return error.failure;
  const name = returnValueOf(error);
  if (name) return { kind: KINDS[name] ?? 'invalid', detail: name };
  return { kind: 'invalid', detail: `unexpected error: ${(error as Error | undefined)?.message ?? String(error)}` };
}

/** What to check, in PKCS#11 terms. */
export const ADVICE: Partial<Record<FailureKind, string>> = {
  unavailable: "check that the HSM is connected and reachable, and the module's configuration (SoftHSM2: SOFTHSM2_CONF)",
  'not-found': "check the token (token=, serial= or slot-id=) and the key's label (object=) or id (id=) in the URI",
  permission: "check the token's user PIN (SIGNET_PKCS11_PIN, or pin-source= in the URI); a token locks its PIN after too many wrong tries",
  unauthenticated: "give the token's user PIN: set SIGNET_PKCS11_PIN, or add pin-source=FILE to the URI",
  disabled: "the key may not sign (its CKA_SIGN is false): use a signing key, or have the token's security officer allow signing",
  invalid: 'check that the key is an ECDSA (P-256, P-384, P-521), Ed25519 or RSA (2048 bits or more) signing key',
};
