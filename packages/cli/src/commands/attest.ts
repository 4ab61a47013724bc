import {
  assertArtifactFile,
  createAttestation,
  predicateTypeName,
  readRegularFile,
  resolvePredicateType,
  SignetError,
  signStatement,
  writeBundle,
} from '@signet/core';
import { createOutput } from '../output';
import { type SigningFlags, signingContext } from './signing';

interface AttestOptions extends SigningFlags {
  predicate: string;
  type: string;
  bundle?: string;
  json?: boolean;
}

export async function attest(subjects: string[], options: AttestOptions): Promise<void> {
  const out = createOutput(Boolean(options.json));
  const predicateType = resolvePredicateType(options.type);
  const predicate = await readPredicate(options.predicate);
  for (const subject of subjects) await assertArtifactFile(subject);
  const statement = await createAttestation(
    subjects.map((path) => ({ path })),
    predicateType,
    predicate,
  );
  const { signer, options: signOptions } = await signingContext(options, out);
  const bundle = await signStatement(statement, signer, signOptions);
  const name = predicateTypeName(predicateType);
  const bundlePath = options.bundle ?? `${subjects[0]}.${name.includes('/') ? 'attestation' : name}.sigstore.json`;
  await writeBundle(bundlePath, bundle);
  out.info(`wrote ${bundlePath}`);
  if (out.json) out.data({ ok: true, bundle: bundlePath, predicateType, subjects: statement.subject });
}

async function readPredicate(path: string): Promise<unknown> {
  let text: string;
  try {
    text = (await readRegularFile(path)).toString('utf8');
  } catch (cause) {
    // "X does not exist", "X is a directory", "X is a FIFO…", said of the predicate.
    throw new SignetError({ code: 'E_INPUT', message: `predicate ${(cause as Error).message}`, cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `predicate ${path} is not valid JSON`, cause });
  }
}
