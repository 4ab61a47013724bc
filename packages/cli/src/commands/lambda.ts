import path from 'node:path';
import { type Policy, SignetError, serializeBundle, signArtifact, type TrustedRoot, writeFileAtomic } from '@signet/core';
import type * as SignetLambda from '@signet/lambda';
import { count, createOutput, type Output } from '../output';
import { type SigningFlags, signingContext } from './signing';
import { policyFromFlags, type TrustFlags, trustedRootLoader } from './trust';

/** @signet/lambda (and the AWS SDK clients it brings), loaded when a lambda command runs. */
function signetLambda(): typeof SignetLambda {
  try {
    return require('@signet/lambda') as typeof SignetLambda;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw cause;
    throw new SignetError({
      code: 'E_PROVIDER_MISSING',
      message: 'signet lambda needs @signet/lambda: npm install --save-dev @signet/lambda',
      cause,
    });
  }
}

interface PackageFlags extends Partial<SigningFlags> {
  out: string;
  include: string[];
  exclude: string[];
  json?: boolean;
}

/** `signet lambda package SRC --out function.zip [--key REF]`: a deterministic zip, signed when a key is given. */
export async function lambdaPackage([src]: string[], flags: PackageFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  const zip = await signetLambda().packageZip(src as string, flags.out, { include: flags.include, exclude: flags.exclude });
  let bundlePath: string | undefined;
  if (flags.key) {
    const { signer, options } = await signingContext(flags as SigningFlags, out);
    const bundle = await signArtifact({ bytes: zip.bytes }, signer, options);
    bundlePath = `${flags.out}.sigstore.json`;
    await writeFileAtomic(bundlePath, `${JSON.stringify(serializeBundle(bundle), null, 2)}\n`);
  }
  out.info(
    `packaged ${count(zip.files.length, 'file')} of ${src} into ${flags.out} (sha256 ${zip.sha256})${bundlePath ? `, signed: ${bundlePath}` : ''}`,
  );
  if (out.json)
    out.data({ ok: true, zip: flags.out, sha256: zip.sha256, codeSha256: zip.codeSha256, files: zip.files, bundle: bundlePath });
}

interface ZipTrustFlags extends TrustFlags {
  bundle?: string;
}

async function zipTrust(
  zip: string,
  flags: ZipTrustFlags,
  out: Output,
): Promise<{ policy: Policy; bundlePath: string; trustedRoot: () => Promise<TrustedRoot> }> {
  const policy = await policyFromFlags(flags);
  return { policy, bundlePath: flags.bundle ?? `${zip}.sigstore.json`, trustedRoot: trustedRootLoader(flags, out) };
}

function signerName(verified: SignetLambda.VerifiedZip['verified']): string {
  return verified.signer.kind === 'key' ? `key ${verified.signer.name}` : `${verified.signer.subject} (issuer ${verified.signer.issuer})`;
}

/** `signet lambda verify function.zip`: the zip is the one that was signed, by a signer the policy trusts. */
export async function lambdaVerify([zip]: string[], flags: ZipTrustFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  const { verified } = await signetLambda().verifyZip(zip as string, await zipTrust(zip as string, flags, out));
  out.info(`Verified OK: ${zip}`);
  out.info(`  signed by ${signerName(verified)}`);
  if (out.json) out.data({ ok: true, zip, signer: verified.signer });
}

interface DeployFlags extends ZipTrustFlags {
  function?: string;
  layer?: string;
  publish?: boolean;
  signingProfile?: string;
  bucket?: string;
}

/**
 * `signet lambda deploy function.zip --function NAME | --layer NAME`: verified, then uploaded;
 * with --signing-profile and --bucket, through AWS Signer for a function that enforces code signing.
 */
export async function lambdaDeploy([zip]: string[], flags: DeployFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  if (Boolean(flags.function) === Boolean(flags.layer))
    throw new SignetError({ code: 'E_USAGE', message: 'lambda deploy needs --function NAME or --layer NAME' });
  if (Boolean(flags.signingProfile) !== Boolean(flags.bucket) || (flags.signingProfile && flags.layer)) {
    throw new SignetError({ code: 'E_USAGE', message: '--signing-profile and --bucket go together, and only with --function' });
  }
  const lambda = signetLambda();
  const options = { ...(await zipTrust(zip as string, flags, out)), publish: flags.publish };
  const file = zip as string;
  if (flags.layer) {
    const layer = await lambda.deployLayer(file, flags.layer, options);
    out.info(`verified ${path.basename(file)} (signed by ${signerName(layer.verified)}) and published ${layer.layerVersionArn}`);
    if (out.json) out.data({ ok: true, layerVersionArn: layer.layerVersionArn, version: layer.version, codeSha256: layer.codeSha256 });
    return;
  }
  const deployed = flags.signingProfile
    ? await lambda.deployWithAwsSigner(file, flags.function as string, {
        ...options,
        profileName: flags.signingProfile,
        bucket: flags.bucket as string,
      })
    : await lambda.deployFunction(file, flags.function as string, options);
  out.info(
    `verified ${path.basename(file)} (signed by ${signerName(deployed.verified)}) and deployed it to ${deployed.functionName}${'jobId' in deployed ? `, signed by AWS Signer (job ${deployed.jobId})` : ''}`,
  );
  if (out.json) out.data({ ok: true, functionName: deployed.functionName, codeSha256: deployed.codeSha256, version: deployed.version });
}
