import { assertArtifactFile, type Signer, SignetError, type SignOptions, signArtifact, signArtifacts, writeBundle } from '@signet/core';
import { createOutput } from '../output';
import { hashingProgress } from '../progress';
import { refuseFolder } from './folders';
import { type SigningFlags, signingContext } from './signing';

interface SignFlags extends SigningFlags {
  bundle?: string;
  json?: boolean;
}

export async function sign(artifacts: string[], options: SignFlags): Promise<void> {
  const out = createOutput(Boolean(options.json));
  if (options.bundle && artifacts.length > 1) {
    throw new SignetError({
      code: 'E_USAGE',
      message: '--bundle names one output; sign several artifacts without it (each gets ARTIFACT.sigstore.json)',
    });
  }
  // Check every input before signing any, so a bad one leaves nothing written.
  for (const artifact of artifacts) {
    refuseFolder(artifact, 'sign-dir');
    await assertArtifactFile(artifact);
  }
  const { signer, options: signOptions } = await signingContext(options, out);

  const results = artifacts.map((artifact) => ({ artifact, bundle: options.bundle ?? `${artifact}.sigstore.json` }));
  const bundles =
    artifacts.length === 1
      ? [await signOne(artifacts[0] as string, signer, signOptions)]
      : await signArtifacts(
          artifacts.map((path) => ({ path })),
          signer,
          signOptions,
        );
  for (const [i, result] of results.entries()) {
    await writeBundle(result.bundle, bundles[i] as (typeof bundles)[number]);
    out.info(`wrote ${result.bundle}`);
  }
  if (out.json) out.data({ ok: true, key: signer.keyId, signed: results });
}

/** One artifact, with a progress bar when it is large and stderr is a terminal. */
async function signOne(artifact: string, signer: Signer, options: SignOptions) {
  const progress = hashingProgress(artifact);
  try {
    return await signArtifact({ path: artifact }, signer, { ...options, onProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
}
