import { openSigner, readSigningConfig, type Signer, type SignOptions, type SigstoreServices } from '@signet/core';
import type { Output } from '../output';
import { passphrasePrompt } from '../prompt';

/** The flags every signing command takes: the key, and where a signature is witnessed. */
export interface SigningFlags {
  key: string;
  identityToken?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  tsaUrl?: string;
  signingConfig?: string;
  tlogUpload?: boolean;
}

/**
 * Opens the signer the flags name and the options every signature shares: the Sigstore
 * services (a signing config, then explicit URLs over it) and whether to log and timestamp.
 */
export async function signingContext(flags: SigningFlags, out: Output): Promise<{ signer: Signer; options: SignOptions }> {
  const services: SigstoreServices = flags.signingConfig ? await readSigningConfig(flags.signingConfig) : {};
  if (flags.fulcioUrl) services.fulcioURL = flags.fulcioUrl;
  if (flags.rekorUrl) services.rekorURL = flags.rekorUrl;
  if (flags.tsaUrl) services.tsaURL = flags.tsaUrl;
  const signer = await openSigner(flags.key, {
    promptPassphrase: passphrasePrompt(),
    onWarning: out.warn,
    identityToken: flags.identityToken,
    services,
  });
  return { signer, options: { services, tlogUpload: flags.tlogUpload || undefined } };
}
