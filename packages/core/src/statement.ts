import type { HashAlgorithm } from './algorithms';
import { type Digests, digestFile } from './digest';
import { SignetError } from './errors';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** An in-toto ResourceDescriptor as a subject: a name and at least one digest (lower-case hex). */
export interface Subject {
  name?: string;
  digest: Record<string, string>;
}

/** An in-toto Statement v1. */
export interface Statement<Predicate = unknown> {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: string;
  predicate: Predicate;
}

/**
 * Short names for the predicate types users sign most, as cosign's `--type` takes them.
 * One deliberate difference: `slsaprovenance` means SLSA v1 here (cosign still maps it
 * to v0.2, which is deprecated); `slsaprovenance02` keeps the old one reachable.
 */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  cyclonedx: 'https://cyclonedx.org/bom',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  slsaprovenance: 'https://slsa.dev/provenance/v1',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  openvex: 'https://openvex.dev/ns',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  signet: 'https://signet.dev/manifest/v1',
};

/** @signet/npm's release statement: pkg:npm/NAME@VERSION with the tarball's sha512. */
export const NPM_RELEASE_PREDICATE_TYPE = 'https://signet.dev/npm-release/v1';
/** cosign v3's signature of an image: a statement naming only its digest. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** A short name from PREDICATE_TYPES, or any absolute URI. */
export function resolvePredicateType(typeOrUri: string): string {
  const known = PREDICATE_TYPES[typeOrUri.toLowerCase()];
  if (known) return known;
  if (/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(typeOrUri)) return typeOrUri;
  throw new SignetError({
    code: 'E_INPUT',
    message: `unknown predicate type "${typeOrUri}"; use one of ${Object.keys(PREDICATE_TYPES).join(', ')} or a URI`,
  });
}

/** The short name of a predicate type URI when it has one, else the URI. */
export function predicateTypeName(uri: string): string {
  for (const [name, known] of Object.entries(PREDICATE_TYPES)) if (known === uri) return name;
  return uri;
}

/**
 * Checks that a predicate plausibly is what its type says, so a user who passes the
 * SPDX file with --type cyclonedx hears about it before it is signed.
 */
export function checkPredicate(predicateType: string, predicate: unknown): void {
  if (predicate === null || typeof predicate !== 'object' || Array.isArray(predicate)) {
    throw new SignetError({ code: 'E_INPUT', message: 'the predicate must be a JSON object' });
  }
  const p = predicate as Record<string, unknown>;
  const expect = (ok: boolean, what: string) => {
    if (!ok) {
      throw new SignetError({
        code: 'E_INPUT',
        message: `the predicate is not ${what} (type ${predicateType}); check --type and --predicate`,
      });
    }
  };
  switch (predicateType) {
    case PREDICATE_TYPES.cyclonedx:
      expect(p.bomFormat === 'CycloneDX', 'a CycloneDX BOM: it has no "bomFormat": "CycloneDX"');
      break;
    case PREDICATE_TYPES.spdx:
      expect(typeof p.spdxVersion === 'string' && p.spdxVersion.startsWith('SPDX-'), 'an SPDX document: it has no "spdxVersion"');
      break;
    case PREDICATE_TYPES.slsaprovenance:
      expect(
        typeof p.buildDefinition === 'object' && p.buildDefinition !== null && typeof p.runDetails === 'object' && p.runDetails !== null,
        'SLSA provenance v1: it needs "buildDefinition" and "runDetails"',
      );
      break;
    case PREDICATE_TYPES.openvex:
      expect(
        typeof p['@context'] === 'string' && p['@context'].startsWith('https://openvex.dev/ns'),
        'an OpenVEX document: its "@context" is not https://openvex.dev/ns…',
      );
      break;
  }
}

export function createStatement<P>(subjects: Subject[], predicateType: string, predicate: P): Statement<P> {
  if (subjects.length === 0) {
    throw new SignetError({ code: 'E_INPUT', message: 'a statement needs at least one subject' });
  }
  return { _type: STATEMENT_TYPE, subject: subjects, predicateType, predicate };
}

/** A file as a subject, hashed by streaming. */
export async function subjectForFile(path: string, name: string, algorithms: readonly HashAlgorithm[] = ['sha256']): Promise<Subject> {
  const { digests } = await digestFile(path, algorithms);
  return { name, digest: hexDigests(digests) };
}

export function hexDigests(digests: Digests): Record<string, string> {
  const hex: Record<string, string> = {};
  for (const [algorithm, value] of Object.entries(digests)) if (value) hex[algorithm] = value.toString('hex');
  return hex;
}

/** Parses and checks a DSSE payload as an in-toto Statement v1 (or the v0.1 shape older tools wrote). */
export function parseStatement(payload: Uint8Array): Statement {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (cause) {
    throw new SignetError({ code: 'E_BUNDLE', message: 'the DSSE payload is not JSON', cause });
  }
  const statement = value as Partial<Statement>;
  const type = statement?._type;
  if (type !== STATEMENT_TYPE && type !== 'https://in-toto.io/Statement/v0.1') {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `the DSSE payload is not an in-toto statement (_type ${JSON.stringify(typeof type === 'string' ? (type as string).slice(0, 80) : typeof type)})`,
    });
  }
  if (!Array.isArray(statement.subject) || statement.subject.length === 0) {
    throw new SignetError({ code: 'E_BUNDLE', message: 'the in-toto statement has no subjects' });
  }
  statement.subject.forEach(checkSubject);
  if (typeof statement.predicateType !== 'string' || statement.predicateType === '') {
    throw new SignetError({ code: 'E_BUNDLE', message: 'the in-toto statement has no predicateType' });
  }
  return statement as Statement;
}

const HEX_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * A subject as a verifier may rely on it: an object whose name, when present, is a string,
 * and whose digest maps algorithm names to strings, with the hashes Signet checks in hex of
 * their length. Anything else is a malformed bundle (E_BUNDLE), not a crash further on.
 */
function checkSubject(subject: unknown, index: number): void {
  const fail = (why: string): never => {
    throw new SignetError({ code: 'E_BUNDLE', message: `the in-toto statement's subject[${index}] ${why}` });
  };
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) fail('is not an object');
  const { name, digest } = subject as { name?: unknown; digest?: unknown };
  if (name !== undefined && typeof name !== 'string') fail('has a name that is not a string');
  if (typeof digest !== 'object' || digest === null || Array.isArray(digest)) fail('has no digest');
  const entries = Object.entries(digest as Record<string, unknown>);
  if (entries.length === 0) fail('has an empty digest');
  for (const [algorithm, value] of entries) {
    if (typeof value !== 'string') fail(`gives ${algorithm} a ${value === null ? 'null' : typeof value}, not a hex string`);
    const length = HEX_LENGTHS[algorithm];
    if (length !== undefined && !new RegExp(`^[0-9a-fA-F]{${length}}$`).test(value as string)) {
      fail(`gives a ${algorithm} that is not ${length} hex digits`);
    }
  }
}
