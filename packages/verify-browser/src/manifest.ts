import { utf8 } from './encoding.js';
import { fail } from './errors.js';

/*
 * The statement a manifest bundle signs, checked as @signet/core checks it (parseStatement,
 * then verify-dir's manifestEntries): an in-toto statement, each subject a plain relative
 * path once with one sha256, only the fields Signet writes, and a predicate of a Signet build.
 */

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const MANIFEST_PREDICATE_TYPE = 'https://signet.dev/manifest/v1';
const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const MANIFEST_TYPES = [MANIFEST_PREDICATE_TYPE, SLSA_PROVENANCE_V1];
const SIGNET_BUILD_TYPE_PREFIX = 'https://signet.dev/build/';
const HEX_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface Statement {
  _type: string;
  subject: { name?: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: unknown;
}

export function parseStatement(payload: Uint8Array): Statement {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (cause) {
    fail('E_BUNDLE', 'the DSSE payload is not JSON', cause);
  }
  const statement = value as Partial<Statement> | null;
  const type = statement?._type;
  if (type !== 'https://in-toto.io/Statement/v1' && type !== 'https://in-toto.io/Statement/v0.1') {
    fail(
      'E_BUNDLE',
      `the DSSE payload is not an in-toto statement (_type ${JSON.stringify(typeof type === 'string' ? type.slice(0, 80) : typeof type)})`,
    );
  }
  const subjects = statement?.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) return fail('E_BUNDLE', 'the in-toto statement has no subjects');
  subjects.forEach(checkSubject);
  if (typeof statement?.predicateType !== 'string' || statement.predicateType === '')
    fail('E_BUNDLE', 'the in-toto statement has no predicateType');
  return statement as Statement;
}

function checkSubject(subject: unknown, index: number): void {
  const why = (text: string): never => fail('E_BUNDLE', `the in-toto statement's subject[${index}] ${text}`);
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) why('is not an object');
  const { name, digest } = subject as { name?: unknown; digest?: unknown };
  if (name !== undefined && typeof name !== 'string') why('has a name that is not a string');
  if (typeof digest !== 'object' || digest === null || Array.isArray(digest)) why('has no digest');
  const entries = Object.entries(digest as Record<string, unknown>);
  if (entries.length === 0) why('has an empty digest');
  for (const [algorithm, value] of entries) {
    if (typeof value !== 'string') why(`gives ${algorithm} a ${value === null ? 'null' : typeof value}, not a hex string`);
    const length = HEX_LENGTHS[algorithm];
    if (length !== undefined && !new RegExp(`^[0-9a-fA-F]{${length}}$`).test(value as string))
      why(`gives a ${algorithm} that is not ${length} hex digits`);
  }
}

/** Refuses a statement of any type but a build manifest's (E_POLICY). */
export function checkManifestType(statement: Statement): void {
  if (!MANIFEST_TYPES.includes(statement.predicateType)) {
    fail('E_POLICY', `the attestation's predicate type is ${statement.predicateType}, not ${MANIFEST_TYPES.join(' or ')}`);
  }
}

/** The manifest's files and their lower-case sha256, with its createdAt when it has one. */
export function manifestEntries(statement: Statement): { files: Map<string, string>; createdAt?: string } {
  const refuse = (why: string): never => fail('E_BUNDLE', `the manifest ${why}`);
  const unknown = (value: object, allowed: string[]) => Object.keys(value).find((key) => !allowed.includes(key));
  const extraField = unknown(statement, ['_type', 'subject', 'predicateType', 'predicate']);
  if (extraField !== undefined) refuse(`has an unknown field ${JSON.stringify(extraField.slice(0, 40))}`);
  const files = new Map<string, string>();
  for (const subject of statement.subject) {
    const name = safeRelativePath(subject.name ?? '');
    const field = unknown(subject, ['name', 'digest']) ?? unknown(subject.digest, ['sha256']);
    if (field !== undefined) refuse(`gives ${name} an unknown field ${JSON.stringify(field.slice(0, 40))}`);
    const digest = subject.digest.sha256;
    if (!digest) refuse(`gives ${name} no sha256 digest`);
    if (files.has(name)) refuse(`names ${name} twice`);
    files.set(name, (digest as string).toLowerCase());
  }
  const predicate = statement.predicate as Record<string, unknown> | null;
  if (statement.predicateType === SLSA_PROVENANCE_V1) {
    const buildType = (predicate?.buildDefinition as { buildType?: unknown } | undefined)?.buildType;
    if (typeof buildType !== 'string' || !buildType.startsWith(SIGNET_BUILD_TYPE_PREFIX)) {
      fail(
        'E_POLICY',
        `the manifest is SLSA provenance of another build type (${JSON.stringify(String(buildType).slice(0, 80))}), not a Signet build's manifest`,
      );
    }
    return { files };
  }
  if (typeof predicate !== 'object' || predicate === null || Array.isArray(predicate)) refuse('has no predicate');
  const field = unknown(predicate as object, ['tool', 'bundler', 'environment', 'outputDir', 'fileCount', 'createdAt']);
  if (field !== undefined) refuse(`predicate has an unknown field ${JSON.stringify(field.slice(0, 40))}`);
  if (predicate?.fileCount !== files.size)
    refuse(`predicate counts ${JSON.stringify(predicate?.fileCount)} files, and its subjects are ${files.size}`);
  const createdAt = predicate?.createdAt;
  if (createdAt !== undefined && (typeof createdAt !== 'string' || !ISO_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt)))) {
    refuse(`predicate's createdAt ${JSON.stringify(String(createdAt).slice(0, 40))} is not an ISO 8601 UTC time`);
  }
  return createdAt === undefined ? { files } : { files, createdAt: createdAt as string };
}

/** A plain path inside the output folder, or E_POLICY, as @signet/core refuses it. */
function safeRelativePath(name: string): string {
  const segments = name.split('/');
  const unsafe =
    name === '' ||
    name.includes('\0') ||
    name.includes('\\') ||
    name.startsWith('/') ||
    /^[a-zA-Z]:/.test(name) ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..');
  if (unsafe) fail('E_POLICY', `the manifest names ${JSON.stringify(name)}, which is not a plain path inside the folder; refusing it`);
  return name;
}
