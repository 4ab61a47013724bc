import { SignetError } from './errors';
import type { KeyRef } from './keyref';
import type { Signer } from './signer';

/** What a caller may hand any provider; each provider reads the options it knows. */
export interface ProviderOptions {
  /** Passphrase for an encrypted local key; defaults to SIGNET_PASSWORD. */
  passphrase?: string;
  /** Asks the user for a passphrase (the CLI prompts on a TTY). */
  promptPassphrase?: (question: string) => Promise<string>;
  /** Non-fatal problems (an unencrypted key file); the CLI prints them to stderr. */
  onWarning?: (message: string) => void;
  /** Environment to read credentials from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Provider-specific settings (endpoints, credentials, clients) for the library API. */
  [setting: string]: unknown;
}

export interface CreateKeyOptions extends ProviderOptions {
  /**
   * The kind of key to create, in Signet's names: `ecdsa-p256` (the default),
   * `ecdsa-p384`, `ecdsa-p521`, `ed25519`, `rsa-2048`/`3072`/`4096`,
   * `rsa-pss-2048`/`3072`/`4096`. Each provider accepts those its service offers.
   */
  algorithm?: string;
  /** Replace an existing key (local files only; KMS keys are never overwritten). */
  force?: boolean;
}

/** A key backend, found by the scheme of a KeyRef. A KMS package is one of these and nothing else. */
export interface KeyProvider {
  readonly scheme: string;
  open(ref: KeyRef, options?: ProviderOptions): Promise<Signer>;
  /** Creates the key and returns its public key as an SPKI PEM. */
  create?(ref: KeyRef, options?: CreateKeyOptions): Promise<string>;
}

/** Provider packages by scheme; each is loaded only when its scheme is used. */
export const PROVIDER_PACKAGES: Readonly<Record<string, string>> = {
  awskms: '@signet/kms-aws',
  gcpkms: '@signet/kms-gcp',
  azurekms: '@signet/kms-azure',
  hashivault: '@signet/kms-vault',
  pkcs11: '@signet/pkcs11',
};

const registered = new Map<string, KeyProvider>();

/** Registers a provider, replacing any for the same scheme (tests, custom backends). */
export function registerProvider(provider: KeyProvider): void {
  registered.set(provider.scheme, provider);
}

/**
 * The provider for a scheme: a registered one, or the scheme's package loaded now.
 * An unknown scheme, or a known one whose package is not installed, says what to do.
 */
export function providerFor(scheme: string): KeyProvider {
  const found = registered.get(scheme);
  if (found) return found;
  const packageName = PROVIDER_PACKAGES[scheme];
  if (!packageName) {
    const known = ['file', 'env', ...Object.keys(PROVIDER_PACKAGES), 'keyless'].join(', ');
    throw new SignetError({
      code: 'E_INPUT',
      message: `unknown key scheme "${scheme}:"; use one of ${known}, or a plain path`,
    });
  }
  const provider = loadProviderPackage(packageName).provider;
  if (!provider || provider.scheme !== scheme) {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `${packageName} does not export a provider for "${scheme}:"; reinstall it`,
    });
  }
  registered.set(scheme, provider);
  return provider;
}

function loadProviderPackage(packageName: string): { provider?: KeyProvider } {
  // Resolve beside Signet first, then from the user's project, so a provider installed
  // next to a globally installed CLI and one in the project's node_modules both work.
  for (const paths of [undefined, [process.cwd()]]) {
    let resolved: string;
    try {
      resolved = require.resolve(packageName, paths ? { paths } : undefined);
    } catch {
      continue;
    }
    return require(resolved) as { provider?: KeyProvider };
  }
  throw new SignetError({
    code: 'E_PROVIDER_MISSING',
    message: `the ${packageName} package handles this key; install it: npm install ${packageName}`,
  });
}
