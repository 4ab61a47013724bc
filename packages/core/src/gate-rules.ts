import picomatch from 'picomatch';
import type { GatePolicy, GateRule } from './gate-policy';
import { canonicalImagePattern, parseImageName } from './image-name';
import { identityMatches, type Policy, type TrustedKey } from './policy';
import type { SignerIdentity } from './verify';

/*
 * What a gate policy's rules mean for one verification, shared by the file gate and by the
 * image verifiers (signet image verify --policy, the admission webhook).
 */

/** A rule's signers as a verification policy: their keys and identities, and a log entry when the rule wants one. */
export function signersPolicy(policy: GatePolicy, signers: readonly string[], tlog: boolean): Policy {
  const trusted: Policy = {};
  const keys = signersKeys(policy, signers);
  const identities = signers.flatMap((name) => policy.identities.get(name) ?? []);
  if (keys.length > 0) trusted.keys = keys;
  if (identities.length > 0) trusted.identities = identities;
  if (tlog) trusted.tlogThreshold = 1;
  return trusted;
}

export function signersKeys(policy: GatePolicy, signers: readonly string[]): TrustedKey[] {
  return signers.flatMap((name) => policy.keys.get(name) ?? []);
}

/** The policy signer a verified signature matched (`release`), and how to show it (`key release`). */
export function signerName(policy: GatePolicy, signer: SignerIdentity, signers: readonly string[]): { name: string; display: string } {
  if (signer.kind === 'key') return { name: signer.name, display: `key ${signer.name}` };
  const name =
    signers.find((n) => {
      const identity = policy.identities.get(n);
      return identity !== undefined && identityMatches(identity, signer);
    }) ?? signer.subject;
  return { name, display: `identity ${name} (${signer.subject})` };
}

const imageMatchers = new WeakMap<GatePolicy, ((name: string) => boolean)[]>();

/**
 * The first `kind: image` rule whose match covers an image name, REGISTRY/REPOSITORY; a rule
 * without match covers every image. Other rules never cover images, nor image rules files.
 * The name is read in its canonical spelling first (GHCR.io:443/acme/shop is
 * ghcr.io/acme/shop, nginx is docker.io/library/nginx), the spelling the policy's patterns
 * were put in when it was loaded, so no respelling of an image meets another rule.
 * Throws E_INPUT for a name that is not one.
 */
export function imageRuleFor(policy: GatePolicy, imageName: string): { index: number; rule: GateRule } | undefined {
  let matchers = imageMatchers.get(policy);
  if (!matchers) {
    // loadGatePolicy wrote the globs canonical already; a policy built by hand is made so here (idempotent).
    matchers = policy.rules.map((rule) => {
      if (!rule.match) return () => true;
      return picomatch(rule.kind === 'image' ? rule.match.map(canonicalImagePattern) : rule.match, { dot: true });
    });
    imageMatchers.set(policy, matchers);
  }
  const { registry, repository } = parseImageName(imageName);
  const name = `${registry}/${repository}`;
  for (const [index, rule] of policy.rules.entries()) {
    if (rule.kind === 'image' && matchers[index]?.(name)) return { index, rule };
  }
  return undefined;
}
