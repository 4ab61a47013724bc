import crypto from 'node:crypto';
import {
  type CreateKeyOptions,
  digestSigner,
  type KeyProvider,
  type KeyRef,
  type ProviderOptions,
  type Signer,
  SignetError,
} from '@signet/core';
import { modulePathFor, pinFor } from './config';
import {
  findObjects,
  findPrivateKey,
  loadWithPkcs11js,
  type Pkcs11Module,
  pkcs11js,
  refusedError,
  type TokenTarget,
  withToken,
  writeULongs,
} from './cryptoki';
import { findKeyPair, keyFacts } from './key-pair';
import { GENERATED, generation, signingRecipe } from './mechanisms';
import { parsePkcs11Uri } from './uri';

export interface Pkcs11ProviderOptions {
  /** The PKCS#11 library; otherwise the URI's module-path, SIGNET_PKCS11_MODULE or PKCS11_MODULE_PATH. */
  modulePath?: string;
  /** The token's user PIN; otherwise the URI's pin-source or pin-value, SIGNET_PKCS11_PIN, or a prompt on a terminal. */
  pin?: string;
  /** Opens the library (default: pkcs11js); for wrapping or instrumenting the module. */
  loadModule?: (modulePath: string) => Pkcs11Module;
  /** Attempts per operation, including the first, for device failures (default 5). */
  attempts?: number;
  /** First backoff step in milliseconds (default 200). */
  baseDelayMs?: number;
  /** Overall deadline per operation in milliseconds (default 30 000). */
  deadlineMs?: number;
}

/** A KeyProvider that can always create keys. */
export interface Pkcs11Provider extends KeyProvider {
  create(ref: KeyRef, options?: CreateKeyOptions): Promise<string>;
}

/**
 * The `pkcs11:` provider: keys on an HSM or token reached through its PKCS#11 module.
 * `provider` reads the module and PIN from the URI and the environment; this factory
 * takes them explicitly for the library API.
 */
export function createPkcs11Provider(settings: Pkcs11ProviderOptions = {}): Pkcs11Provider {
  function targetFor(ref: KeyRef, options: ProviderOptions): TokenTarget {
    const uri = parsePkcs11Uri(ref);
    return {
      uri,
      modulePath: modulePathFor(settings.modulePath, uri, options.env ?? process.env),
      loadModule: settings.loadModule ?? loadWithPkcs11js,
      attempts: settings.attempts,
      baseDelayMs: settings.baseDelayMs,
      deadlineMs: settings.deadlineMs,
    };
  }

  /** The PIN as given, else one typed at the terminal; signing and creating cannot go without. */
  async function requirePin(target: TokenTarget, action: string, given: string | undefined, options: ProviderOptions): Promise<string> {
    if (given !== undefined) return given;
    if (options.promptPassphrase) return options.promptPassphrase(`User PIN for ${target.uri.display}: `);
    throw refusedError(target, action, { kind: 'unauthenticated', detail: 'no user PIN was given' });
  }

  return {
    scheme: 'pkcs11',

    async open(ref: KeyRef, options: ProviderOptions = {}): Promise<Signer> {
      const target = targetFor(ref, options);
      const { uri } = target;
      const pin = await pinFor({ explicit: settings.pin, uri, env: options.env ?? process.env, onWarning: options.onWarning });
      // The public key is usually readable without logging in; a PIN, when given, also reveals the private key.
      const facts = await withToken(target, 'open the key', { pin }, async (token) => keyFacts(token, findKeyPair(token, uri)));
      const recipe = signingRecipe(pkcs11js(), facts.algorithm);

      // Asked for at most once, however many signatures are requested together.
      let signingPin: Promise<string> | undefined;
      const sign = async (data: Buffer): Promise<Buffer> => {
        signingPin ??= requirePin(target, 'sign', pin, options);
        return withToken(target, 'sign', { pin: await signingPin }, async (token) => {
          const key = findPrivateKey(token, uri);
          token.module.C_SignInit(token.session, recipe.mechanism, key);
          const raw = await token.module.C_SignAsync(token.session, recipe.input(data), Buffer.alloc(4096));
          return recipe.signature(raw);
        });
      };
      return digestSigner({
        keyId: uri.keyName,
        algorithm: facts.algorithm,
        publicKey: facts.publicKey,
        signDigest: sign,
        ...(facts.algorithm === 'ed25519' ? { signMessage: sign } : {}),
      });
    },

    async create(ref: KeyRef, options: CreateKeyOptions = {}): Promise<string> {
      const requested = options.algorithm ?? 'ecdsa-p256';
      const spec = GENERATED[requested];
      if (!spec) {
        throw new SignetError({
          code: 'E_INPUT',
          message: `a PKCS#11 token cannot generate "${requested}" keys; choose one of ${Object.keys(GENERATED).join(', ')}`,
        });
      }
      const target = targetFor(ref, options);
      const { uri } = target;
      const label = uri.object;
      if (!label) {
        throw new SignetError({ code: 'E_INPUT', message: `${uri.display}: name the new key with object=LABEL` });
      }
      const given = await pinFor({ explicit: settings.pin, uri, env: options.env ?? process.env, onWarning: options.onWarning });
      const pin = await requirePin(target, 'create the key', given, options);
      // One attempt: a retried generation could leave two keys, or refuse its own first one.
      return withToken(target, 'create the key', { pin, write: true, attempts: 1 }, async (token) => {
        const { module, p11, session } = token;
        const clashes = [
          ...findObjects(token, [{ type: p11.CKA_LABEL, value: label }]),
          ...(uri.id ? findObjects(token, [{ type: p11.CKA_ID, value: uri.id }]) : []),
        ];
        if (clashes.length > 0) {
          throw new SignetError({
            code: 'E_EXISTS',
            message: `${uri.display} already exists on the token; Signet never replaces a key on an HSM: choose another object= label (or id=)`,
          });
        }
        const plan = generation(p11, spec, label, uri.id ?? crypto.randomBytes(16), writeULongs);
        const offered = new Set(module.C_GetMechanismList(token.slot));
        if (!plan.requires.every((mechanism) => offered.has(mechanism))) {
          const possible = Object.entries(GENERATED)
            .filter(([, other]) => generation(p11, other, label, Buffer.alloc(0), writeULongs).requires.every((m) => offered.has(m)))
            .map(([name]) => name);
          throw new SignetError({
            code: 'E_INPUT',
            message: `the token of ${uri.display} cannot make ${requested} keys; it offers ${possible.join(', ') || "none of Signet's algorithms"}`,
          });
        }
        const pair = await module.C_GenerateKeyPairAsync(session, plan.mechanism, plan.publicTemplate, plan.privateTemplate);
        return keyFacts(token, pair).publicKey;
      });
    },
  };
}

/** The provider core loads for `pkcs11:` references: module and PIN from the URI and the environment. */
export const provider: Pkcs11Provider = createPkcs11Provider();
