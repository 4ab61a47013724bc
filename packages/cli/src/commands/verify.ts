import {
  type Artifact,
  artifactFromArgument,
  assertPolicyCovers,
  readBundle,
  resolvePredicateType,
  SignetError,
  type VerifiedSignature,
  verifyBundle,
} from '@signet/core';
import { createOutput, type Output } from '../output';
import { hashingProgress } from '../progress';
import { policyFromFlags, type TrustFlags, trustedRootFor } from './trust';

interface VerifyFlags extends TrustFlags {
  bundle?: string;
}

export async function verify([target]: string[], flags: VerifyFlags): Promise<void> {
  if (target === undefined) throw new SignetError({ code: 'E_USAGE', message: 'verify needs <artifact>' });
  const out = createOutput(Boolean(flags.json));
  const result = await run(target, flags, out);
  report(out, target, result.bundlePath, result.verified);
}

interface VerifyAttestationFlags extends VerifyFlags {
  type: string;
}

export async function verifyAttestation([target]: string[], flags: VerifyAttestationFlags): Promise<void> {
  if (target === undefined) throw new SignetError({ code: 'E_USAGE', message: 'verify-attestation needs <subject>' });
  const out = createOutput(Boolean(flags.json));
  const predicateType = resolvePredicateType(flags.type);
  const result = await run(target, flags, out, [predicateType]);
  if (!result.verified.statement) {
    throw new SignetError({
      code: 'E_POLICY',
      message: `${result.bundlePath} is a plain signature, not an attestation; verify it with signet verify`,
    });
  }
  report(out, target, result.bundlePath, result.verified);
}

async function run(target: string, flags: VerifyFlags, out: Output, predicateTypes?: string[]) {
  const artifact: Artifact = artifactFromArgument(target);
  if (!flags.bundle && !('path' in artifact)) {
    throw new SignetError({ code: 'E_USAGE', message: 'a digest has no file beside it: give the bundle with --bundle' });
  }
  const bundlePath = flags.bundle ?? `${target}.sigstore.json`;
  const policy = await policyFromFlags(flags);
  if (predicateTypes) policy.predicateTypes = predicateTypes;
  const bundle = await readBundle(bundlePath);
  assertPolicyCovers(bundle, policy);
  const trustedRoot = await trustedRootFor(bundle, flags, out);
  const progress = hashingProgress(target);
  try {
    const verified = await verifyBundle(bundle, artifact, policy, { trustedRoot, onProgress: progress.onProgress });
    return { bundlePath, verified };
  } finally {
    progress.stop();
  }
}

function report(out: Output, target: string, bundlePath: string, verified: VerifiedSignature): void {
  if (out.json) {
    out.data({ ok: true, artifact: target, bundle: bundlePath, ...verified });
    return;
  }
  const signer =
    verified.signer.kind === 'key'
      ? `key ${verified.signer.name} (sha256:${Buffer.from(verified.signer.fingerprint, 'base64').toString('hex').slice(0, 16)}…)`
      : `${verified.signer.subject} (issuer ${verified.signer.issuer})`;
  out.info(`Verified OK: ${target}`);
  out.info(`  signed by ${signer}`);
  if (verified.statement)
    out.info(`  attestation ${verified.statement.predicateType} about ${verified.statement.subject.length} subject(s)`);
  for (const timestamp of verified.timestamps) out.info(`  seen at ${timestamp.time.toISOString()} (${timestamp.source})`);
}
