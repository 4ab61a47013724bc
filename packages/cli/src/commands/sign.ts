import { assertArtifactFile, openSigner, type Signer, SignetError, signArtifact, signArtifacts, writeBundle } from '@signet/core';
import { createOutput } from '../output';
import { hashingProgress } from '../progress';
import { passphrasePrompt } from '../prompt';

interface SignOptions {
  key: string;
  bundle?: string;
  json?: boolean;
}

export async function sign(artifacts: string[], options: SignOptions): Promise<void> {
  const out = createOutput(Boolean(options.json));
  if (options.bundle && artifacts.length > 1) {
    throw new SignetError({
      code: 'E_USAGE',
      message: '--bundle names one output; sign several artifacts without it (each gets ARTIFACT.sigstore.json)',
    });
  }
  // Check every input before signing any, so a bad one leaves nothing written.
  for (const artifact of artifacts) await assertArtifactFile(artifact);
  const signer = await openSigner(options.key, { promptPassphrase: passphrasePrompt(), onWarning: out.warn });

  const results = artifacts.map((artifact) => ({ artifact, bundle: options.bundle ?? `${artifact}.sigstore.json` }));
  const bundles =
    artifacts.length === 1
      ? [await signOne(artifacts[0] as string, signer)]
      : await signArtifacts(
          artifacts.map((path) => ({ path })),
          signer,
        );
  for (const [i, result] of results.entries()) {
    await writeBundle(result.bundle, bundles[i] as (typeof bundles)[number]);
    out.info(`wrote ${result.bundle}`);
  }
  if (out.json) out.data({ ok: true, key: signer.keyId, signed: results });
}

/** One artifact, with a progress bar when it is large and stderr is a terminal. */
async function signOne(artifact: string, signer: Signer) {
  const progress = hashingProgress(artifact);
  try {
    return await signArtifact({ path: artifact }, signer, { onProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
}
