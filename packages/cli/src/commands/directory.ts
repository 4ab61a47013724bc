import { DirectoryMismatchError, signDirectory, type VerifiedDirectory, verifyDirectory } from '@signet/core';
import { count, createOutput, EXIT, reportError } from '../output';
import { type SigningFlags, signingContext } from './signing';
import { policyFromFlags, type TrustFlags, trustedRootLoader } from './trust';

interface SignDirFlags extends SigningFlags {
  output?: string;
  sha256sums?: boolean;
  include: string[];
  exclude: string[];
  provenance?: boolean;
  json?: boolean;
}

/** `signet sign-dir DIR`: every file of a folder, as one signed build. */
export async function signDir([dir]: string[], flags: SignDirFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  const { signer, options } = await signingContext(flags, out);
  const signed = await signDirectory(dir as string, signer, {
    ...options,
    manifestPath: flags.output,
    sha256sums: flags.sha256sums,
    include: flags.include,
    exclude: flags.exclude,
    provenance: flags.provenance,
    onWarning: out.warn,
  });
  // SHA256SUMS, when written, is signed too: it is one of the subjects, not one of the build's files.
  const files = signed.statement.subject.length - (flags.sha256sums ? 1 : 0);
  out.info(`signed ${count(files, 'file')} of ${dir}${flags.sha256sums ? ' and their SHA256SUMS' : ''}: wrote ${signed.manifestPath}`);
  if (out.json) out.data({ ok: true, dir, manifest: signed.manifestPath, files });
}

interface VerifyDirFlags extends TrustFlags {
  bundle?: string;
  allowExtra: string[];
}

/** `signet verify-dir DIR`: the folder is exactly what was signed, or exit 1 naming each difference. */
export async function verifyDir([dir]: string[], flags: VerifyDirFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const policy = await policyFromFlags(flags);
  let folder: VerifiedDirectory;
  try {
    folder = await verifyDirectory(dir as string, policy, {
      bundlePath: flags.bundle,
      allowExtra: flags.allowExtra,
      trustedRoot: trustedRootLoader(flags, out),
    });
  } catch (error) {
    if (!(error instanceof DirectoryMismatchError)) throw error;
    // The differences are the data (with --json, in full); the error is their one line on stderr.
    if (out.json) {
      const { missing, extra, modified, allowedExtra } = error;
      out.data({
        ok: false,
        dir,
        signer: error.verified.signer,
        missing,
        extra,
        modified,
        allowedExtra,
        error: { code: error.code, message: error.message },
      });
    }
    return reportError(error, false);
  }
  const { verified, files, allowedExtra } = folder;
  if (out.json) out.data({ ok: true, dir, signer: verified.signer, timestamps: verified.timestamps, files, allowedExtra });
  const signer =
    verified.signer.kind === 'key' ? `key ${verified.signer.name}` : `${verified.signer.subject} (issuer ${verified.signer.issuer})`;
  out.info(`Verified OK: ${dir} (${count(files, 'file')})`);
  out.info(`  signed by ${signer}`);
  if (allowedExtra.length > 0) out.info(`  extra files allowed by --allow-extra: ${allowedExtra.join(', ')}`);
  return EXIT.OK;
}
