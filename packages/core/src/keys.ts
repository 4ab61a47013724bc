import fs from 'node:fs/promises';
import { SignetError } from './errors';
import { keylessProvider } from './keyless';
import { type KeyRef, parseKeyRef } from './keyref';
import { envKeyProvider, fileKeyProvider } from './local-keys';
import type { TrustedKey } from './policy';
import { type CreateKeyOptions, type KeyProvider, type ProviderOptions, providerFor, registerProvider } from './provider';
import type { Signer } from './signer';

registerProvider(fileKeyProvider);
registerProvider(envKeyProvider);
registerProvider(keylessProvider);

function refOf(ref: string | KeyRef): KeyRef {
  return typeof ref === 'string' ? parseKeyRef(ref) : ref;
}

function provider(ref: KeyRef): KeyProvider {
  return providerFor(ref.scheme);
}

/** Opens the key a reference names, loading its provider package if it has one. */
export async function openSigner(ref: string | KeyRef, options: ProviderOptions = {}): Promise<Signer> {
  const keyRef = refOf(ref);
  return provider(keyRef).open(keyRef, options);
}

/** Creates the key a reference names (a key file, a KMS key, …) and returns its public key PEM. */
export async function createKey(ref: string | KeyRef, options: CreateKeyOptions = {}): Promise<string> {
  const keyRef = refOf(ref);
  const keyProvider = provider(keyRef);
  if (!keyProvider.create) {
    throw new SignetError({ code: 'E_INPUT', message: `keys cannot be created for ${keyRef.scheme}: references` });
  }
  return keyProvider.create(keyRef, options);
}

/**
 * The public key to verify with, from what a user passes to `--key`: a PEM file (the
 * common case, which loads no provider), or any key reference, whose provider yields
 * the public key (a KMS key, a private key file).
 */
export async function trustedKeyFromRef(value: string, options: ProviderOptions = {}): Promise<TrustedKey> {
  const keyRef = refOf(value);
  if (keyRef.scheme === 'file') {
    let text: string | undefined;
    try {
      text = await fs.readFile(keyRef.location, 'utf8');
    } catch {
      // fall through to the provider, whose error names the problem
    }
    if (text !== undefined && /-----BEGIN (RSA )?PUBLIC KEY-----/.test(text) && !text.includes('PRIVATE KEY-----')) {
      return { publicKey: text, name: keyRef.display };
    }
  }
  const signer = await openSigner(keyRef, options);
  // The provider's key id names the key safely (no PIN, a resolved version).
  return { publicKey: await signer.publicKey(), name: signer.keyId };
}
