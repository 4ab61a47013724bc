import fs from 'node:fs/promises';
import { type Policy, readBundle, SignetError, type TrustedRoot, type VerifiedSignature, verifyBundle } from '@signet/core';

export interface ZipVerifyOptions {
  /** Who may have signed the zip. */
  policy: Policy;
  /** The zip's bundle (default: ZIP.sigstore.json beside it). */
  bundlePath?: string;
  /** Trust material, for a keyless bundle or one with a log entry. */
  trustedRoot?: TrustedRoot;
}

export interface VerifiedZip {
  /** The bytes verified: deploy these, never the file read again (it could have changed since). */
  bytes: Buffer;
  verified: VerifiedSignature;
}

/** Reads a zip once and verifies those bytes against its bundle under the policy. */
export async function verifyZip(zip: string, options: ZipVerifyOptions): Promise<VerifiedZip> {
  const bytes = await fs.readFile(zip).catch((cause: NodeJS.ErrnoException) => {
    throw new SignetError({ code: 'E_INPUT', message: `cannot read ${zip}: ${cause.code ?? cause.message}`, cause });
  });
  const bundle = await readBundle(options.bundlePath ?? `${zip}.sigstore.json`);
  const verified = await verifyBundle(bundle, { bytes }, options.policy, { trustedRoot: options.trustedRoot });
  return { bytes, verified };
}
