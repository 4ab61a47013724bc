import {
  type Artifact,
  artifactFromArgument,
  createVerifier,
  predicateTypeName,
  readBundle,
  resolvePredicateType,
  SignetError,
  type Verified,
} from '@signet/core';
import { count, createOutput, type Output } from '../output';
import { hashingProgress } from '../progress';
import { refuseFolder } from './folders';
import { policyFromFlags, type TrustFlags, trustedRootLoader } from './trust';

interface VerifyFlags extends TrustFlags {
  bundle?: string;
}

/** `signet verify`: a release signature (a message signature or a release statement) over the artifact. */
export async function verify([target]: string[], flags: VerifyFlags): Promise<void> {
  if (target === undefined) throw new SignetError({ code: 'E_USAGE', message: 'verify needs <artifact>' });
  const out = createOutput(Boolean(flags.json));
  const result = await run(target, flags, out);
  report(out, target, result.bundlePath, result.verified);
}

interface VerifyAttestationFlags extends VerifyFlags {
  type: string;
}

/** `signet verify-attestation --type T`: a statement of that predicate type about the artifact. */
export async function verifyAttestation([target]: string[], flags: VerifyAttestationFlags): Promise<void> {
  if (target === undefined) throw new SignetError({ code: 'E_USAGE', message: 'verify-attestation needs <subject>' });
  const out = createOutput(Boolean(flags.json));
  const result = await run(target, flags, out, [resolvePredicateType(flags.type)]);
  report(out, target, result.bundlePath, result.verified);
}

async function run(target: string, flags: VerifyFlags, out: Output, predicateTypes?: string[]) {
  const artifact: Artifact = artifactFromArgument(target);
  if ('path' in artifact) refuseFolder(target, 'verify-dir');
  if (!flags.bundle && !('path' in artifact)) {
    throw new SignetError({ code: 'E_USAGE', message: 'a digest has no file beside it: give the bundle with --bundle' });
  }
  const bundlePath = flags.bundle ?? `${target}.sigstore.json`;
  const policy = await policyFromFlags(flags);
  policy.predicateTypes = predicateTypes;
  const bundle = await readBundle(bundlePath);
  const progress = hashingProgress(target);
  try {
    const verifier = createVerifier({ policy, trustedRoot: trustedRootLoader(flags, out), onProgress: progress.onProgress });
    return { bundlePath, verified: await verifier.verify(bundle, artifact) };
  } finally {
    progress.stop();
  }
}

function report(out: Output, target: string, bundlePath: string, verified: Verified): void {
  if (out.json) {
    out.data({ ok: true, artifact: target, bundle: bundlePath, ...verified });
    return;
  }
  const signer =
    verified.signer.kind === 'key'
      ? `key ${verified.signer.name}${verified.signer.name === verified.signer.fingerprint ? '' : ` (${verified.signer.fingerprint})`}`
      : `${verified.signer.subject} (issuer ${verified.signer.issuer})`;
  out.info(`Verified OK: ${target}`);
  out.info(`  signed by ${signer}`);
  if (verified.signer.kind === 'certificate' && verified.signer.extensions.sourceRepository) {
    const { sourceRepository, sourceRepositoryRef } = verified.signer.extensions;
    out.info(`  run by ${sourceRepository}${sourceRepositoryRef ? ` at ${sourceRepositoryRef}` : ''}`);
  }
  if (verified.statement) {
    out.info(
      `  ${predicateTypeName(verified.statement.predicateType)} statement about ${count(verified.statement.subject.length, 'subject')}`,
    );
  }
  // Only verified times: a log entry's signed timestamp or a trusted TSA's.
  for (const timestamp of verified.timestamps) out.info(`  seen at ${timestamp.time.toISOString()} (${timestamp.source})`);
}
