import {
  createKey,
  displayKeyRef,
  type GeneratedAlgorithm,
  openSigner,
  parseKeyRef,
  publicKeyPathFor,
  SignetError,
  writeFileAtomic,
} from '@signet/core';
import { createOutput } from '../output';
import { passphrasePrompt, promptPassphrase } from '../prompt';

interface GenerateOptions {
  key: string;
  algorithm: GeneratedAlgorithm | string;
  force?: boolean;
}

export async function generateKey(_positionals: string[], options: GenerateOptions): Promise<void> {
  const out = createOutput(false);
  const ref = parseKeyRef(options.key);
  const publicPem = await createKey(ref, {
    algorithm: options.algorithm,
    force: options.force,
    promptPassphrase: passphrasePrompt() && confirmedPassphrase,
    onWarning: out.warn,
  });
  if (ref.scheme === 'file') {
    out.info(`wrote ${ref.location} (mode 0600) and ${publicKeyPathFor(ref.location)}`);
  } else {
    out.info(`created ${displayKeyRef(ref)}`);
    out.text(publicPem);
  }
}

/** Asks twice, as ssh-keygen and cosign do, so a typo does not lock the key away. */
async function confirmedPassphrase(question: string): Promise<string> {
  const first = await promptPassphrase(question);
  const second = await promptPassphrase('Repeat the passphrase: ');
  if (first !== second) {
    throw new SignetError({ code: 'E_INPUT', message: 'the passphrases do not match; nothing was written' });
  }
  return first;
}

interface PublicOptions {
  key: string;
  output?: string;
}

export async function publicKey(_positionals: string[], options: PublicOptions): Promise<void> {
  const out = createOutput(false);
  const signer = await openSigner(options.key, { promptPassphrase: passphrasePrompt(), onWarning: out.warn });
  const pem = await signer.publicKey();
  if (options.output) {
    await writeFileAtomic(options.output, pem);
    out.info(`wrote ${options.output}`);
  } else {
    out.text(pem);
  }
}
