import fs from 'node:fs';
import os from 'node:os';
import { callRemote, remoteError, SignetError } from '@signet/core';
import type * as Pkcs11js from 'pkcs11js';
import { ADVICE, classify, Refusal, returnValueOf } from './failures';
import { describeObject, type Pkcs11Uri } from './uri';

/*
 * One PKCS#11 conversation: load the module, C_Initialize, find the token, open a session,
 * log in, do the work, log out, close the session, C_Finalize. Nothing stays initialised
 * between operations, so a second signer (or another library) in the same process finds the
 * module as it left it; operations on one module run one at a time, because a login belongs
 * to the whole application, not to a session.
 */

export type Pkcs11Library = typeof Pkcs11js;
export type Pkcs11Module = Pkcs11js.PKCS11;
export type Handle = Buffer;

let library: Pkcs11Library | undefined;
/** pkcs11js, a native addon, loaded on first use so a broken build is reported, not thrown at import. */
export function pkcs11js(): Pkcs11Library {
  if (library) return library;
  try {
    library = require('pkcs11js') as Pkcs11Library;
  } catch (cause) {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `the pkcs11js native addon did not load (${(cause as Error).message}); reinstall @signet/pkcs11, which builds it with node-gyp`,
      cause,
    });
  }
  return library;
}

/** Opens the PKCS#11 library at `modulePath` (the default for `loadModule`). */
export function loadWithPkcs11js(modulePath: string): Pkcs11Module {
  const module = new (pkcs11js().PKCS11)();
  module.load(modulePath);
  return module;
}

export interface TokenTarget {
  modulePath: string;
  uri: Pkcs11Uri;
  loadModule: (modulePath: string) => Pkcs11Module;
  attempts?: number;
  baseDelayMs?: number;
  deadlineMs?: number;
}

export interface TokenSession {
  module: Pkcs11Module;
  p11: Pkcs11Library;
  slot: Handle;
  session: Handle;
  /** Whether the user is logged in, i.e. private objects are visible. */
  loggedIn: boolean;
}

export interface SessionOptions {
  /** Logs in as the user when given. */
  pin?: string;
  /** A read-write session, for creating keys. */
  write?: boolean;
  /** Overrides the target's attempts (1 for what must not be repeated, such as creating a key). */
  attempts?: number;
}

/** The service as messages name it. */
export function serviceName(target: TokenTarget): string {
  return `PKCS#11 module ${target.modulePath}`;
}

/**
 * Runs `work` in a logged-in session on the token the URI names, with callRemote's retries
 * for device failures. A SignetError thrown by `work` (or while initialising) is final and
 * reaches the caller as it is; anything else is classified by its CKR_… value.
 */
export async function withToken<T>(
  target: TokenTarget,
  action: string,
  options: SessionOptions,
  work: (token: TokenSession) => Promise<T>,
): Promise<T> {
  return serialized(moduleIdentity(target.modulePath), async () => {
    const module = load(target);
    try {
      const outcome = await callRemote(
        async () => {
          try {
            return { value: await converse(target, module, options, work) };
          } catch (error) {
            if (error instanceof SignetError) return { error };
            throw error;
          }
        },
        {
          service: serviceName(target),
          keyRef: target.uri.display,
          action,
          classify,
          advice: ADVICE,
          attempts: options.attempts ?? target.attempts,
          baseDelayMs: target.baseDelayMs,
          deadlineMs: target.deadlineMs,
        },
      );
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    } finally {
      quietly(() => module.close());
    }
  });
}

function load(target: TokenTarget): Pkcs11Module {
  try {
    return target.loadModule(target.modulePath);
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    // dlopen's message names the path and why (no such file, not an ELF object, no C_GetFunctionList).
    throw new SignetError({
      code: 'E_PROVIDER',
      message:
        `cannot load the PKCS#11 module ${target.modulePath} (${(cause as Error).message}): check SIGNET_PKCS11_MODULE ` +
        `(or module-path= in the URI) names your HSM's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so for SoftHSM2`,
      cause,
    });
  }
}

async function converse<T>(
  target: TokenTarget,
  module: Pkcs11Module,
  options: SessionOptions,
  work: (token: TokenSession) => Promise<T>,
): Promise<T> {
  const p11 = pkcs11js();
  const initialised = initialise(target, module, p11);
  try {
    const slot = findToken(module, p11, target.uri);
    const flags = p11.CKF_SERIAL_SESSION | (options.write ? p11.CKF_RW_SESSION : 0);
    const session = module.C_OpenSession(slot, flags);
    try {
      let ownLogin = false;
      if (options.pin !== undefined) {
        try {
          module.C_Login(session, p11.CKU_USER, options.pin);
          ownLogin = true;
        } catch (error) {
          // Another part of this process logged in already: the login is theirs to end.
          if (returnValueOf(error) !== 'CKR_USER_ALREADY_LOGGED_IN') throw error;
        }
      }
      try {
        return await work({ module, p11, slot, session, loggedIn: options.pin !== undefined });
      } finally {
        if (ownLogin) quietly(() => module.C_Logout(session));
      }
    } finally {
      quietly(() => module.C_CloseSession(session));
    }
  } finally {
    if (initialised) quietly(() => module.C_Finalize());
  }
}

/** C_Initialize; false when someone else in this process already did (so they finalise it). */
function initialise(target: TokenTarget, module: Pkcs11Module, p11: Pkcs11Library): boolean {
  try {
    // The module may be called from pkcs11js's worker threads (C_SignAsync), so it must lock.
    module.C_Initialize({ flags: p11.CKF_OS_LOCKING_OK });
    return true;
  } catch (error) {
    const value = returnValueOf(error);
    if (value === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return false;
    throw new SignetError({
      code: 'E_PROVIDER',
      message:
        `the PKCS#11 module ${target.modulePath} did not initialise (${value ?? (error as Error).message}): ` +
        `check its configuration (SoftHSM2 reads SOFTHSM2_CONF and needs its tokendir to exist)`,
      cause: error,
    });
  }
}

/** The one initialised token the URI's token, serial, manufacturer, model and slot-id attributes match. */
function findToken(module: Pkcs11Module, p11: Pkcs11Library, uri: Pkcs11Uri): Handle {
  const tokens = module
    .C_GetSlotList(true)
    .map((slot) => ({ slot, info: module.C_GetTokenInfo(slot) }))
    .filter(({ info }) => (info.flags & p11.CKF_TOKEN_INITIALIZED) !== 0);
  const matches = tokens.filter(
    ({ slot, info }) =>
      (uri.token === undefined || info.label.trimEnd() === uri.token) &&
      (uri.serial === undefined || info.serialNumber.trimEnd() === uri.serial) &&
      (uri.manufacturer === undefined || info.manufacturerID.trimEnd() === uri.manufacturer) &&
      (uri.model === undefined || info.model.trimEnd() === uri.model) &&
      (uri.slotId === undefined || readULong(slot) === uri.slotId),
  );
  const [match, ...others] = matches;
  if (!match) {
    const present = tokens.map(({ info }) => JSON.stringify(info.label.trimEnd())).join(', ');
    throw new Refusal({ kind: 'not-found', detail: `no token matches ${describeToken(uri)}; tokens present: ${present || 'none'}` });
  }
  if (others.length > 0) {
    throw new Refusal({
      kind: 'invalid',
      detail: `${matches.length} tokens match ${describeToken(uri)}; add token=, serial= or slot-id= to the URI to pick one`,
    });
  }
  return match.slot;
}

function describeToken(uri: Pkcs11Uri): string {
  const parts = [
    uri.token !== undefined && `token=${uri.token}`,
    uri.serial !== undefined && `serial=${uri.serial}`,
    uri.manufacturer !== undefined && `manufacturer=${uri.manufacturer}`,
    uri.model !== undefined && `model=${uri.model}`,
    uri.slotId !== undefined && `slot-id=${uri.slotId}`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(';') : 'the URI (it names no token)';
}

/** Every object matching `template`. */
export function findObjects(token: TokenSession, template: Pkcs11js.Template): Handle[] {
  const { module, session } = token;
  module.C_FindObjectsInit(session, template);
  try {
    const found: Handle[] = [];
    for (let batch = module.C_FindObjects(session, 16); batch.length > 0; batch = module.C_FindObjects(session, 16)) {
      found.push(...batch);
    }
    return found;
  } finally {
    module.C_FindObjectsFinal(session);
  }
}

/** The template that finds the URI's key objects of one class (by label and/or id). */
export function keyTemplate(token: TokenSession, uri: Pkcs11Uri, objectClass: number): Pkcs11js.Template {
  const { p11 } = token;
  const template: Pkcs11js.Template = [{ type: p11.CKA_CLASS, value: objectClass }];
  if (uri.object) template.push({ type: p11.CKA_LABEL, value: uri.object });
  if (uri.id) template.push({ type: p11.CKA_ID, value: uri.id });
  return template;
}

/** The private key the URI names, for signing. */
export function findPrivateKey(token: TokenSession, uri: Pkcs11Uri): Handle {
  const keys = findObjects(token, keyTemplate(token, uri, token.p11.CKO_PRIVATE_KEY));
  const [key, ...others] = keys;
  if (!key) throw new Refusal({ kind: 'not-found', detail: `the token holds no private key with ${describeObject(uri)}` });
  if (others.length > 0) {
    throw new Refusal({
      kind: 'invalid',
      detail: `${keys.length} private keys have ${describeObject(uri)}; add id= to the URI to pick one`,
    });
  }
  return key;
}

/** An attribute's value, or undefined when the object does not have it or keeps it secret. */
export function readAttribute(token: TokenSession, object: Handle, type: number): Buffer | undefined {
  try {
    const [attribute] = token.module.C_GetAttributeValue(token.session, object, [{ type }]);
    return attribute?.value;
  } catch (error) {
    const value = returnValueOf(error);
    if (value === 'CKR_ATTRIBUTE_TYPE_INVALID' || value === 'CKR_ATTRIBUTE_SENSITIVE') return undefined;
    throw error;
  }
}

// CK_ULONG is the C `unsigned long`: 4 bytes on Windows, 8 on 64-bit Unix, in the machine's byte order.
const ULONG_BYTES = process.platform === 'win32' || process.arch === 'ia32' || process.arch === 'arm' ? 4 : 8;
const LITTLE_ENDIAN = os.endianness() === 'LE';

export function readULong(bytes: Buffer): bigint {
  if (bytes.length === 8) return LITTLE_ENDIAN ? bytes.readBigUInt64LE() : bytes.readBigUInt64BE();
  if (bytes.length === 4) return BigInt(LITTLE_ENDIAN ? bytes.readUInt32LE() : bytes.readUInt32BE());
  throw new Refusal({ kind: 'invalid', detail: `a CK_ULONG of ${bytes.length} bytes` });
}

/** A CK_ULONG array (CKA_ALLOWED_MECHANISMS) as numbers, and back. */
export function readULongs(bytes: Buffer): number[] {
  const values: number[] = [];
  for (let offset = 0; offset + ULONG_BYTES <= bytes.length; offset += ULONG_BYTES) {
    values.push(Number(readULong(bytes.subarray(offset, offset + ULONG_BYTES))));
  }
  return values;
}

export function writeULongs(values: readonly number[]): Buffer {
  const bytes = Buffer.alloc(values.length * ULONG_BYTES);
  values.forEach((value, i) => {
    const offset = i * ULONG_BYTES;
    if (ULONG_BYTES === 8) {
      if (LITTLE_ENDIAN) bytes.writeBigUInt64LE(BigInt(value), offset);
      else bytes.writeBigUInt64BE(BigInt(value), offset);
    } else if (LITTLE_ENDIAN) bytes.writeUInt32LE(value, offset);
    else bytes.writeUInt32BE(value, offset);
  });
  return bytes;
}

/** One queue per library file, however its path is spelt. */
function moduleIdentity(modulePath: string): string {
  try {
    return fs.realpathSync(modulePath);
  } catch {
    return modulePath;
  }
}

const queues = new Map<string, Promise<void>>();
/** Runs operations on one module one after another, in order. */
async function serialized<T>(key: string, operation: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  let release = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => done);
  queues.set(key, tail);
  await previous;
  try {
    return await operation();
  } finally {
    release();
    if (queues.get(key) === tail) queues.delete(key);
  }
}

/** Cleanup that must not hide the error that got us here. */
function quietly(step: () => void): void {
  try {
    step();
  } catch {
    // the session or module is already gone; nothing is left to release
  }
}

/** For the remote-error message of a failure decided outside a session. */
export function refusedError(target: TokenTarget, action: string, failure: Refusal['failure']): SignetError {
  return remoteError(failure, { service: serviceName(target), keyRef: target.uri.display, action, advice: ADVICE });
}
