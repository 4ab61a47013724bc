import os from 'node:os';
import type { HashAlgorithm } from './algorithms';
import { checkPredicate, createStatement, type Statement, type Subject, subjectForFile } from './statement';

export interface SubjectFile {
  path: string;
  /** The subject's name in the statement; defaults to the path. */
  name?: string;
}

/**
 * Hashes files into subjects, several at a time: the cost of attesting many files is
 * the bytes hashed, spread over the machine's cores.
 */
export async function subjectsForFiles(
  files: readonly SubjectFile[],
  algorithms: readonly HashAlgorithm[] = ['sha256'],
  concurrency = Math.max(2, os.availableParallelism()),
): Promise<Subject[]> {
  const subjects: Subject[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const file = files[i] as SubjectFile;
      subjects[i] = await subjectForFile(file.path, file.name ?? file.path, algorithms);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return subjects;
}

/** A statement about files: subjects hashed, predicate checked against its type. */
export async function createAttestation(files: readonly SubjectFile[], predicateType: string, predicate: unknown): Promise<Statement> {
  checkPredicate(predicateType, predicate);
  return createStatement(await subjectsForFiles(files), predicateType, predicate);
}
