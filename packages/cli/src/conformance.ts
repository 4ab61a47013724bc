import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type Artifact,
  artifactFromArgument,
  certificateExtensions,
  createVerifier,
  loadSigningConfig,
  loadTrustedRoot,
  openSigner,
  type Policy,
  parseStatement,
  readBundle,
  readRegularFile,
  SignetError,
  selectServices,
  signArtifact,
  signStatement,
  trustedKeyFromRef,
  writeBundle,
} from '@signet/core';
import { reportError } from './output';
import { SIGSTAGE_TUF_MIRROR, SIGSTAGE_TUF_ROOT } from './sigstage-tuf-root';

/*
 * The sigstore-conformance client protocol (github.com/sigstore/sigstore-conformance,
 * docs/cli_protocol.md), so the official suite can run Signet unmodified:
 *
 *   signet-conformance sign-bundle [--staging] [--in-toto] --identity-token T --bundle OUT
 *     [--trusted-root F] [--signing-config F] FILE
 *   signet-conformance verify-bundle [--staging] --bundle B (--certificate-identity I
 *     --certificate-oidc-issuer O | --key K) [--trusted-root T] FILE_OR_DIGEST
 *
 * sign-bundle signs keyless with the services the signing config selects (the one given, else
 * the TUF repository's: public-good, or staging with --staging), as `signet sign` does.
 * verify-bundle asks whether the bundle is validly signed by that key or identity over the
 * target, whatever it signs: unlike `signet verify`, a statement of any predicate type counts.
 * Exit 0 done, else one error line and Signet's exit codes.
 */

export async function conformance(argv: readonly string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === 'sign-bundle') return await signBundle(rest);
    if (command === 'verify-bundle') return await verifyBundle(rest);
    throw new SignetError({
      code: 'E_USAGE',
      message: `unknown command ${JSON.stringify(command ?? '')}; expected sign-bundle or verify-bundle`,
    });
  } catch (error) {
    return reportError(error, false);
  }
}

async function verifyBundle(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    bundle: { type: 'string' },
    key: { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    'trusted-root': { type: 'string' },
    staging: { type: 'boolean' },
  });
  const [target] = positionals;
  if (!values.bundle || target === undefined || positionals.length !== 1) {
    throw new SignetError({
      code: 'E_USAGE',
      message: 'verify-bundle --bundle FILE (--key FILE | --certificate-identity ID --certificate-oidc-issuer URL) TARGET',
    });
  }
  const policy: Policy = { predicateTypes: 'any' };
  if (values.key) policy.keys = [await trustedKeyFromRef(values.key)];
  else if (values['certificate-identity'] && values['certificate-oidc-issuer']) {
    policy.identities = [{ subject: values['certificate-identity'], issuer: values['certificate-oidc-issuer'] }];
  } else {
    throw new SignetError({ code: 'E_USAGE', message: 'give --key, or --certificate-identity with --certificate-oidc-issuer' });
  }
  const verifier = createVerifier({ policy, trustedRoot: () => trustedRoot(values['trusted-root'], values.staging) });
  await verifier.verify(await readBundle(values.bundle), conformanceTarget(target));
  return 0;
}

async function signBundle(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    staging: { type: 'boolean' },
    'in-toto': { type: 'boolean' },
    'identity-token': { type: 'string' },
    bundle: { type: 'string' },
    'trusted-root': { type: 'string' },
    'signing-config': { type: 'string' },
  });
  const [file] = positionals;
  const token = values['identity-token'];
  if (!values.bundle || !token || file === undefined || positionals.length !== 1) {
    throw new SignetError({
      code: 'E_USAGE',
      message:
        'sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle FILE [--trusted-root FILE] [--signing-config FILE] FILE',
    });
  }
  const { config, name, code } = await loadSigningConfig(
    values['signing-config']
      ? { signingConfigPath: values['signing-config'] }
      : values.staging
        ? { tufMirror: SIGSTAGE_TUF_MIRROR, tufRoot: SIGSTAGE_TUF_ROOT }
        : {},
  );
  const services = selectServices(config, { name, code, requireCA: true, requireLog: true });
  const signer = await openSigner('keyless', { identityToken: token, services });
  const options = { services, tlogUpload: true };
  const bundle = values['in-toto']
    ? await signStatement(parseStatement(await readRegularFile(file)), signer, options)
    : await signArtifact({ path: file }, signer, options);
  // Given a trusted root, what was made is checked before it is written: by the certificate's own
  // identity, with every log entry and timestamp, as the suite's verify-bundle will check it.
  const material = bundle.verificationMaterial.content;
  const certificate = material.$case === 'certificate' ? material.certificate.rawBytes : undefined;
  if (values['trusted-root'] && certificate) {
    const subject = /(?:email|URI):([^,]+)/.exec(new crypto.X509Certificate(certificate).subjectAltName ?? '')?.[1];
    const issuer = certificateExtensions(certificate).issuer;
    if (subject && issuer) {
      const verifier = createVerifier({
        policy: { identities: [{ subject, issuer }], predicateTypes: 'any' },
        trustedRoot: () => trustedRoot(values['trusted-root'], values.staging),
      });
      if (values['in-toto']) await verifier.verifyStatement(bundle);
      else await verifier.verify(bundle, { path: file });
    }
  }
  await writeBundle(values.bundle, bundle);
  return 0;
}

/** The trusted root: the file given, else the TUF repository's (staging with --staging). */
function trustedRoot(file: string | undefined, staging: boolean | undefined) {
  if (file) return loadTrustedRoot({ trustedRootPath: file });
  return loadTrustedRoot(staging ? { tufMirror: SIGSTAGE_TUF_MIRROR, tufRoot: SIGSTAGE_TUF_ROOT } : {});
}

/**
 * The protocol's FILE_OR_DIGEST: `sha256:` and 64 hex digits naming no file is a digest; anything
 * else is a path, as the protocol says.
 */
function conformanceTarget(target: string): Artifact {
  if (/^sha256:[0-9a-fA-F]{64}$/.test(target) && !fs.existsSync(target)) return artifactFromArgument(target);
  return { path: target };
}

function parse(argv: readonly string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }) as {
      values: Record<string, string | undefined> & { staging?: boolean };
      positionals: string[];
    };
  } catch (cause) {
    throw new SignetError({ code: 'E_USAGE', message: (cause as Error).message, cause });
  }
}

export function run(): void {
  conformance(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
    },
    (error) => {
      process.exitCode = reportError(error, false);
    },
  );
}
