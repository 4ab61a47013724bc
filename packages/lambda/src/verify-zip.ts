import { createVerifier, type Policy, readBundle, readRegularFile, SignetError, type TrustedRoot, type Verified } from '@signet/core';

export interface ZipVerifyOptions {
  /** Who may have signed the zip. */
  policy: Policy;
  /** The zip's bundle (default: ZIP.sigstore.json beside it). */
  bundlePath?: string;
  /** Trust material, for a keyless bundle or one with a log entry (a function is called only when needed). */
  trustedRoot?: TrustedRoot | (() => Promise<TrustedRoot>);
}

export interface VerifiedZip {
  /** The bytes verified: deploy these, never the file read again (it could have changed since). */
  bytes: Buffer;
  verified: Verified;
}

/** Lambda takes a zip of up to 50 MB directly, 250 MB unzipped through S3: nothing larger is a deployment package. */
const MAX_ZIP_BYTES = 256 * 1024 * 1024;

/** Reads a zip once and verifies those bytes, as a release signed by the policy's signers. */
export async function verifyZip(zip: string, options: ZipVerifyOptions): Promise<VerifiedZip> {
  const bytes = await readRegularFile(zip, {
    bytes: MAX_ZIP_BYTES,
    error: (size) => new SignetError({ code: 'E_INPUT', message: `${zip} is ${size} bytes, larger than any Lambda deployment package` }),
  });
  const bundle = await readBundle(options.bundlePath ?? `${zip}.sigstore.json`);
  const verified = await createVerifier({ policy: options.policy, trustedRoot: options.trustedRoot }).verify(bundle, { bytes });
  return { bytes, verified };
}
