import { readRegularFile } from './digest';
import { SignetError } from './errors';
import { keylessProvider } from './keyless';
import { type KeyRef, parseKeyRef } from './keyref';
import { envKeyProvider, fileKeyProvider, publicKeyPathFor } from './local-keys';
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
 * The public key to verify with, from what a user passes to `--key`: a PEM public key file
 * (which loads no provider), or a key reference whose provider yields the public key (a KMS
 * key, an HSM key).
 */
export async function trustedKeyFromRef(value: string, options: ProviderOptions = {}): Promise<TrustedKey> {
  const keyRef = refOf(value);
  if (keyRef.scheme === 'file') return trustedKeyFromFile(keyRef);
  const signer = await openSigner(keyRef, options);
  // The provider's key id names the key safely (no PIN, a resolved version).
  return { publicKey: await signer.publicKey(), name: signer.keyId };
}

/**
 * A key file given to verify with must be a PEM public key. A private key is refused rather
 * than opened: it does not belong on a deploy host, where verification runs, and its public
 * half is all a verifier needs.
 */
async function trustedKeyFromFile(ref: KeyRef): Promise<TrustedKey> {
  const text = (await readRegularFile(ref.location)).toString('utf8');
  if (text.includes('PRIVATE KEY-----')) {
    const pub = publicKeyPathFor(ref.location);
    throw new SignetError({
      code: 'E_KEY',
      message: `${ref.display} is a private key, which does not belong where artifacts are verified; verify with its public key, ${pub} (signet key public --key ${ref.display} > ${pub} writes it)`,
    });
  }
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    throw new SignetError({
      code: 'E_KEY',
      message: `${ref.display} is not a PEM public key; verify with the signer's public key (the .pub file signet key generate writes)`,
    });
  }
  return { publicKey: text, name: ref.display };
}
