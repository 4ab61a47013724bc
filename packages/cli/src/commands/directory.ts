import { type DirectoryReport, readBundle, SignetError, signDirectory, verifyDirectory } from '@signet/core';
import { createOutput, EXIT, type Output, reportError } from '../output';
import { type SigningFlags, signingContext } from './signing';
import { policyFromFlags, type TrustFlags, trustedRootFor } from './trust';

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
  out.info(
    `signed ${signed.statement.subject.length} files of ${dir}: wrote ${signed.manifestPath}${flags.sha256sums ? ' and SHA256SUMS' : ''}`,
  );
  if (out.json) out.data({ ok: true, dir, manifest: signed.manifestPath, files: signed.statement.subject.length });
}

interface VerifyDirFlags extends TrustFlags {
  bundle?: string;
  allowExtra: string[];
}

/** `signet verify-dir DIR`: the folder is exactly what was signed, or exit 1 naming each difference. */
export async function verifyDir([dir]: string[], flags: VerifyDirFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const policy = await policyFromFlags(flags);
  const bundlePath = flags.bundle;
  // The trusted root depends on how the manifest was signed; read it once to decide.
  const trustedRoot = await trustedRootFor(await readBundle(bundlePath ?? `${dir}/.well-known/signet/manifest.sigstore.json`), flags, out);
  const report = await verifyDirectory(dir as string, policy, { bundlePath, allowExtra: flags.allowExtra, trustedRoot });
  if (!report.ok) {
    const error = mismatch(dir as string, report);
    // The report is the data (with --json, in full); the error is its one line on stderr.
    if (out.json) out.data({ dir, ...report, error: { code: error.code, message: error.message } });
    return reportError(error, false);
  }
  if (out.json) out.data({ dir, ...report });
  reportOk(out, dir as string, report);
  return EXIT.OK;
}

function reportOk(out: Output, dir: string, report: DirectoryReport): void {
  const signer = report.signer.kind === 'key' ? `key ${report.signer.name}` : `${report.signer.subject} (issuer ${report.signer.issuer})`;
  out.info(`Verified OK: ${dir} (${report.verified} files)`);
  out.info(`  signed by ${signer}`);
  if (report.allowedExtra.length > 0) out.info(`  extra files allowed by --allow-extra: ${report.allowedExtra.join(', ')}`);
}

/** One line naming every difference (the first twenty of each kind; --json has them all). */
function mismatch(dir: string, report: DirectoryReport): SignetError {
  const list = (kind: string, names: string[]) =>
    names.length === 0 ? [] : [`${kind} ${names.slice(0, 20).join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`];
  const parts = [...list('modified', report.modified), ...list('extra', report.extra), ...list('missing', report.missing)];
  return new SignetError({ code: 'E_SIGNATURE', message: `${dir} does not match its signed manifest: ${parts.join('; ')}` });
}
