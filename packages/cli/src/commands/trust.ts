import {
  type Bundle,
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
  if (flags.githubRef && !flags.githubRepository) {
    throw new SignetError({ code: 'E_USAGE', message: '--github-ref needs --github-repository OWNER/REPO' });
  }
  if (flags.githubRepository) {
    if (identityGiven) {
      throw new SignetError({ code: 'E_USAGE', message: '--github-repository already names the identity; drop the --certificate-* flags' });
    }
    policy.identities = [githubWorkflowIdentity(flags.githubRepository, flags.githubRef)];
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
 * The trusted root a bundle needs: none for a key signature with nothing witnessed (fully
 * offline), else the one given, else public-good through TUF (or embedded, offline).
 */
export async function trustedRootFor(bundle: Bundle, flags: TrustFlags, out: Output): Promise<TrustedRoot | undefined> {
  const material = bundle.verificationMaterial;
  const witnessed = material.tlogEntries.length > 0 || (material.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0;
  if (!flags.trustedRoot && !flags.tufMirror && material.content.$case === 'publicKey' && !witnessed) return undefined;
  return loadTrustedRoot({
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
