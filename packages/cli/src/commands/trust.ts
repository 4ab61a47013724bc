import {
  checkIdentityRule,
  type IdentityRule,
  type Policy,
  readTrustedRoot,
  SignetError,
  type TrustedRoot,
  trustedKeyFromRef,
} from '@signet/core';
import { passphrasePrompt } from '../prompt';

/** The trust flags every verifying command takes. */
export interface TrustFlags {
  key: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  trustedRoot?: string;
  json?: boolean;
}

/** Turns the flags into a policy and trust root. Neither a key nor an identity is a usage error. */
export async function policyFromFlags(flags: TrustFlags): Promise<{ policy: Policy; trustedRoot?: TrustedRoot }> {
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
  if (identityGiven) {
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
      message: 'say what to trust: --key PUBLIC_KEY, or --certificate-identity (or -regexp) with --certificate-oidc-issuer (or -regexp)',
    });
  }
  const trustedRoot = flags.trustedRoot ? await readTrustedRoot(flags.trustedRoot) : undefined;
  return { policy, trustedRoot };
}
