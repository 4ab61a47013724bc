import {
  appendToLedger,
  type Bundle,
  ledgerRecordsOf,
  loadSigningConfig,
  openSigner,
  parseKeyRef,
  type Signer,
  SignetError,
  type SignOptions,
  type SigstoreServices,
  selectServices,
} from '@signet/core';
import type { Output } from '../output';
import { passphrasePrompt } from '../prompt';

/** The flags every signing command takes: the key, and where a signature is witnessed. */
export interface SigningFlags {
  key: string;
  identityToken?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  rekorVersion?: string;
  tsaUrl?: string;
  signingConfig?: string;
  tufMirror?: string;
  tufRoot?: string;
  tlogUpload?: boolean;
  ledger?: string;
}

/**
 * Opens the signer the flags name and the options every signature shares: the Sigstore
 * services and whether to log and timestamp. The services come from a signing config, as cosign
 * chooses them: `--signing-config`, else the TUF repository's signing_config.v0.2.json
 * (public-good, or `--tuf-mirror` with `--tuf-root`) whenever a service the signature needs is not
 * named by its own flag; `--fulcio-url`, `--rekor-url` and `--tsa-url` override what it selects.
 */
export async function signingContext(flags: SigningFlags, out: Output): Promise<{ signer: Signer; options: SignOptions }> {
  const keyless = parseKeyRef(flags.key).scheme === 'keyless';
  const tlog = Boolean(flags.tlogUpload) || keyless;
  const rekorVersion = flags.rekorVersion === undefined ? undefined : (Number(flags.rekorVersion) as 1 | 2);
  if (rekorVersion !== undefined && !tlog) {
    throw new SignetError({
      code: 'E_USAGE',
      message: '--rekor-version chooses the log a signature is recorded in: sign keyless or with --tlog-upload',
    });
  }
  const unnamed = (keyless && !flags.fulcioUrl) || (tlog && !flags.rekorUrl);
  let services: SigstoreServices = {};
  if (flags.signingConfig !== undefined || unnamed) {
    const { config, name, code } = await loadSigningConfig({
      signingConfigPath: flags.signingConfig,
      tufMirror: flags.tufMirror,
      tufRootPath: flags.tufRoot,
    });
    services = selectServices(config, {
      name,
      code,
      requireCA: keyless && !flags.fulcioUrl,
      requireLog: tlog && !flags.rekorUrl,
      rekorVersions: rekorVersion ? [rekorVersion] : undefined,
    });
  }
  if (flags.fulcioUrl) services.fulcioURL = flags.fulcioUrl;
  if (flags.rekorUrl) services.rekorLogs = [{ url: flags.rekorUrl, version: rekorVersion ?? 1 }];
  if (flags.tsaUrl) services.tsaURLs = [flags.tsaUrl];
  const signer = await openSigner(flags.key, {
    promptPassphrase: passphrasePrompt(),
    onWarning: out.warn,
    identityToken: flags.identityToken,
    services,
  });
  const ledger = flags.ledger ?? (process.env.SIGNET_LEDGER || undefined);
  return {
    signer,
    options: { services, tlogUpload: flags.tlogUpload || undefined, onSigned: ledger ? ledgerWriter(ledger, out) : undefined },
  };
}

/**
 * Records each signature in the ledger (`--ledger FILE` or SIGNET_LEDGER) as soon as it exists,
 * for `signet monitor`: a signature that reached the log is yours even when a later step (a
 * publish, a push) fails. Appends are one at a time, so signatures made in parallel all land.
 */
function ledgerWriter(file: string, out: Output): (bundle: Bundle) => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return (bundle) => {
    const records = ledgerRecordsOf(bundle);
    // After the previous append, whatever became of it: each append reports its own failure.
    last = last
      .catch(() => undefined)
      .then(async () => {
        await appendToLedger(file, records);
        const logged = records.filter((record) => record.log !== undefined);
        out.info(`recorded in the ledger ${file}${logged.length ? ` (${logged.map((r) => `log entry ${r.logIndex}`).join(', ')})` : ''}`);
      });
    return last;
  };
}
