import { parseArgs } from 'node:util';
import {
  artifactFromArgument,
  createVerifier,
  loadTrustedRoot,
  type Policy,
  readBundle,
  SignetError,
  trustedKeyFromRef,
} from '@signet/core';
import { reportError } from './output';

/*
 * The sigstore-conformance client protocol (github.com/sigstore/sigstore-conformance), so the
 * official suite can run Signet unmodified:
 *
 *   signet-conformance verify-bundle --bundle B (--key K | --certificate-identity I
 *     --certificate-oidc-issuer O) [--trusted-root T] [--staging] TARGET
 *
 * The protocol asks whether the bundle is validly signed by that key or identity over TARGET
 * (a path or sha256:HEX), whatever it signs: unlike `signet verify`, a statement of any
 * predicate type counts. Exit 0 verified, else one error line and Signet's exit codes.
 */

const STAGING_TUF_MIRROR = 'https://tuf-repo-cdn.sigstage.dev';

export async function conformance(argv: readonly string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === 'verify-bundle') return await verifyBundle(rest);
    throw new SignetError({ code: 'E_USAGE', message: `unknown command ${JSON.stringify(command ?? '')}; expected verify-bundle` });
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
  const trustedRootPath = values['trusted-root'];
  const verifier = createVerifier({
    policy,
    trustedRoot: () =>
      loadTrustedRoot(trustedRootPath ? { trustedRootPath } : { tufMirror: values.staging ? STAGING_TUF_MIRROR : undefined }),
  });
  await verifier.verify(await readBundle(values.bundle), artifactFromArgument(target));
  return 0;
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
