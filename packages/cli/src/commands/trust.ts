import {
  checkIdentityRule,
  githubWorkflowIdentity,
  type IdentityRule,
  loadTrustedRoot,
  type Policy,
  SignetError,
  type TrustedRoot,
  trustedKeyFromRef,
} from '@signet/core';
import type { Output } from '../output';
import { passphrasePrompt } from '../prompt';

/** The trust flags every verifying command takes. */
export interface TrustFlags {
  key: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  githubRepository?: string;
  githubRef?: string;
  githubWorkflowRepository?: string;
  trustedRoot?: string;
  tufMirror?: string;
  tufRoot?: string;
  offline?: boolean;
  tlogThreshold?: string;
  timestampThreshold?: string;
  ctlogThreshold?: string;
  json?: boolean;
}

/** Turns the flags into a policy. Neither a key nor an identity is a usage error. */
export async function policyFromFlags(flags: TrustFlags): Promise<Policy> {
  const policy: Policy = {};
  if (flags.key.length > 0) {
    policy.keys = await Promise.all(flags.key.map((ref) => trustedKeyFromRef(ref, { promptPassphrase: passphrasePrompt() })));
  }
  const identityGiven = [
    flags.certificateIdentity,
    flags.certificateIdentityRegexp,
    flags.certificateOidcIssuer,
    flags.certificateOidcIssuerRegexp,
  ].some((value) => value !== undefined);
  for (const [flag, value] of [
    ['--github-ref', flags.githubRef],
    ['--github-workflow-repository', flags.githubWorkflowRepository],
  ] as const) {
    if (value !== undefined && !flags.githubRepository) {
      throw new SignetError({
        code: 'E_USAGE',
        message: `${flag} needs --github-repository OWNER/REPO (the repository that runs the workflow)`,
      });
    }
  }
  if (flags.githubRepository) {
    if (identityGiven) {
      throw new SignetError({ code: 'E_USAGE', message: '--github-repository already names the identity; drop the --certificate-* flags' });
    }
    policy.identities = [
      githubWorkflowIdentity(flags.githubRepository, { ref: flags.githubRef, workflowRepository: flags.githubWorkflowRepository }),
    ];
  } else if (identityGiven) {
    const rule: IdentityRule = {
      subject: flags.certificateIdentity,
      subjectRegExp: flags.certificateIdentityRegexp,
      issuer: flags.certificateOidcIssuer,
      issuerRegExp: flags.certificateOidcIssuerRegexp,
    };
    checkIdentityRule(rule);
    policy.identities = [rule];
  }
  if (!policy.keys && !policy.identities) {
    throw new SignetError({
      code: 'E_USAGE',
      message:
        'say what to trust: --key PUBLIC_KEY, or --certificate-identity (or -regexp) with --certificate-oidc-issuer (or -regexp), or --github-repository OWNER/REPO',
    });
  }
  policy.tlogThreshold = threshold(flags.tlogThreshold, '--tlog-threshold');
  policy.timestampThreshold = threshold(flags.timestampThreshold, '--timestamp-threshold');
  policy.ctlogThreshold = threshold(flags.ctlogThreshold, '--ctlog-threshold');
  return policy;
}

/**
 * How to get the trusted root, for a verifier to call when a bundle needs one (a certificate,
 * a log entry, a timestamp): the file given, else through TUF (public-good, or the mirror
 * given), or with --offline the copy shipped with Signet.
 */
export function trustedRootLoader(flags: TrustFlags, out: Output): () => Promise<TrustedRoot> {
  return () =>
    loadTrustedRoot({
      trustedRootPath: flags.trustedRoot,
      tufMirror: flags.tufMirror,
      tufRootPath: flags.tufRoot,
      offline: flags.offline,
      onWarning: out.warn,
    });
}

function threshold(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new SignetError({ code: 'E_USAGE', message: `${flag} takes a whole number, not "${value}"` });
  return Number(value);
}
