import {
  type GatePolicy,
  imageRuleFor,
  predicateTypeName,
  SignetError,
  type SignetErrorCode,
  signerName,
  signersPolicy,
  type TrustedRoot,
} from '@signet/core';
import { formatImageReference, imageName, parseImageReference } from './reference';
import { RegistryClient } from './registry-client';
import { verifyImage, verifyImageAttestation } from './verify-image';

/** One image judged against a gate policy: the admission webhook's and `signet image verify --policy`'s answer. */
export interface ImageVerdict {
  /** The image reference as given. */
  image: string;
  ok: boolean;
  /** The verified manifest digest (a tag resolved once). */
  digest?: string;
  /**
   * What to run: the reference in its canonical spelling with the verified @DIGEST
   * (REGISTRY/REPO:TAG@sha256:…), the digest it was given when it had one. One spelling, so
   * that what runs, what was judged and what is cached name the same repository.
   */
  pinned?: string;
  /** The index of the policy rule that covers it. */
  rule?: number;
  /** Who signed, for display: `key release`, `identity ci (https://…)`. */
  signer?: string;
  /** What was verified, or why it failed. */
  reason: string;
  code?: SignetErrorCode;
}

export interface ImagePolicyOptions {
  client?: RegistryClient;
  /** Called once, and only for a signature with a certificate, a log entry or a timestamp. */
  trustedRoot?: () => Promise<TrustedRoot>;
}

/**
 * Checks an image against the first `kind: image` rule of a gate policy that matches its
 * name, read in its canonical spelling (a respelled registry meets the same rule): signed by one of the rule's signers (logged when the rule says tlog), with the
 * attestations it requires. A failure is a verdict, not an exception, as in the gate.
 */
export async function verifyImageForPolicy(image: string, policy: GatePolicy, options: ImagePolicyOptions = {}): Promise<ImageVerdict> {
  const verdict: ImageVerdict = { image, ok: false, reason: '' };
  try {
    // Every step below sees the canonical spelling only: the rule, the registry, the pin.
    const reference = parseImageReference(image);
    const canonical = formatImageReference(reference);
    const covering = imageRuleFor(policy, imageName(reference));
    if (!covering) throw new SignetError({ code: 'E_POLICY', message: `no image rule of ${policy.source} covers ${imageName(reference)}` });
    verdict.rule = covering.index;
    const { rule } = covering;
    const client = options.client ?? new RegistryClient();
    const verified = await verifyImage(canonical, signersPolicy(policy, rule.signers, rule.tlog), {
      client,
      trustedRoot: options.trustedRoot,
    });
    verdict.digest = verified.digest;
    verdict.pinned = formatImageReference({ ...reference, digest: reference.digest ?? verified.digest });
    const [first] = verified.signatures;
    const signer = first ? signerName(policy, first.verified.signer, rule.signers).display : undefined;
    if (signer) verdict.signer = signer;
    const reasons = [`${verified.digest} signed by ${signer}${first?.format === 'legacy' ? ' (legacy .sig)' : ''}`];
    // Attestations about the digest just verified (so a tag moved in between cannot mix
    // images), or about the index whose signature vouched for it.
    const subjects = [...new Set([verified.digest, ...verified.signatures.map((s) => s.signedDigest)])];
    for (const required of rule.attestations) {
      const trusted = signersPolicy(policy, required.signers, rule.tlog);
      const attested = await firstVerified(
        subjects.map(
          (digest) => () =>
            verifyImageAttestation(`${imageName(reference)}@${digest}`, trusted, required.predicateType, {
              client,
              trustedRoot: options.trustedRoot,
            }),
        ),
      );
      const by = attested.signatures[0] ? signerName(policy, attested.signatures[0].verified.signer, required.signers).display : '?';
      reasons.push(`${predicateTypeName(required.predicateType)} by ${by}`);
    }
    verdict.ok = true;
    verdict.reason = reasons.join('; ');
  } catch (error) {
    const failure =
      error instanceof SignetError
        ? error
        : new SignetError({ code: 'E_INTERNAL', message: `unexpected error: ${(error as Error)?.message ?? error}`, cause: error });
    verdict.reason = failure.message.replace(/\s*\n\s*/g, ' ');
    verdict.code = failure.code;
  }
  return verdict;
}

/** The first attempt that succeeds; else the first one's failure. */
async function firstVerified<T>(attempts: (() => Promise<T>)[]): Promise<T> {
  let firstError: unknown;
  for (const attempt of attempts) {
    try {
      return await attempt();
    } catch (error) {
      firstError ??= error;
    }
  }
  throw firstError;
}
