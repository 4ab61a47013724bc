import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import type { Document, LineCounter } from 'yaml';
import { readRegularFile } from './digest';
import { SignetError, type SignetErrorCode } from './errors';
import { canonicalImagePattern } from './image-name';
import { parseKeyRef } from './keyref';
import { trustedKeyFromRef } from './keys';
import { anchoredRegExp, type IdentityRule, type TrustedKey } from './policy';
import type { ProviderOptions } from './provider';
import { assertAcceptableKey, parsePublicKey } from './public-key';
import { resolvePredicateType } from './statement';
import type { TrustedRoot } from './trusted-root';

/*
 * The deploy gate. A policy file says, per kind of artifact and path pattern, which keys or
 * keyless identities must have signed it, whether the signature must be in a transparency
 * log, and which attestations must accompany it; gate() checks many artifacts against it at
 * once and returns one verdict each. An artifact no rule covers fails: the gate denies by
 * default. A verification failure is a verdict, never an exception; only a policy or usage
 * error (or a trusted root that cannot be had) throws.
 */

/** What an artifact is, and so how it is verified. */
export const ARTIFACT_KINDS = ['web', 'lambda-zip', 'npm-tarball', 'file', 'attestation', 'image'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** Attestations that must accompany an artifact: one of this predicate type, by one of these signers. */
export interface AttestationRequirement {
  /** The predicate type URI. */
  predicateType: string;
  /** Names from the policy's keys and identities (default: the rule's signers). */
  signers: string[];
}

/** One rule of a gate policy, as loaded. */
export interface GateRule {
  kind?: ArtifactKind;
  /**
   * Globs on the artifact path as given; a glob without a slash matches the file name anywhere.
   * For kind image: globs on the image name, REGISTRY/REPOSITORY (no tag or digest), as
   * loaded: in the canonical spelling of image names (see canonicalImagePattern).
   */
  match?: string[];
  /** Names from the policy's keys and identities; any one of them must have signed. */
  signers: string[];
  /** Every signature the rule accepts must have a transparency-log entry. */
  tlog: boolean;
  attestations: AttestationRequirement[];
  /** For kind attestation: the predicate types accepted (required there). */
  predicateTypes?: string[];
}

/** A gate policy, loaded and checked: keys parsed, identities and names checked, rules in order. */
export interface GatePolicy {
  /** The policy file, for messages. */
  source: string;
  keys: ReadonlyMap<string, TrustedKey>;
  identities: ReadonlyMap<string, IdentityRule>;
  rules: readonly GateRule[];
}

export interface GateVerdict {
  /** The artifact path as given. */
  artifact: string;
  kind?: ArtifactKind;
  /** The index of the rule that covers it in the policy's rules; absent when none does. */
  rule?: number;
  ok: boolean;
  /** Who signed, for display: `key NAME` or `identity NAME (SUBJECT)`; absent when unknown. */
  signer?: string;
  /** What was verified, or why it failed. */
  reason: string;
  /** For a failure, the SignetError code. */
  code?: SignetErrorCode;
  /** The attestations found and verified for the rule's requirements. */
  attestations?: { predicateType: string; bundle: string; signer: string }[];
}

export interface GateOptions {
  /**
   * Gets the trusted root, called once and only when a bundle needs one (a certificate, a
   * log entry, a timestamp). Default: loadTrustedRoot(), which honours SIGNET_OFFLINE.
   */
  trustedRoot?: () => Promise<TrustedRoot>;
  /** Artifacts checked at once (default: twice the cores); their files are hashed on up to that many worker threads. */
  concurrency?: number;
}

// The policy file

/** Policies are a few kilobytes; this bounds what is parsed. */
const MAX_POLICY_BYTES = 1024 * 1024;

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
const text = { type: 'string', minLength: 1 };
const names = { type: 'array', minItems: 1, items: text };

/** The policy file's JSON Schema (draft-07); what it cannot say is checked after it. */
const POLICY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'rules'],
  properties: {
    version: { const: 1 },
    keys: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['publicKey'],
        properties: { publicKey: text, validFrom: text, validUntil: text },
      },
    },
    identities: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          issuer: text,
          issuerRegExp: text,
          subject: text,
          subjectRegExp: text,
          sourceRepository: text,
          sourceRepositoryRef: text,
        },
      },
    },
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['signers'],
        properties: {
          kind: { enum: [...ARTIFACT_KINDS] },
          match: { type: ['string', 'array'], minLength: 1, minItems: 1, items: text },
          signers: names,
          tlog: { type: 'boolean' },
          attestations: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['predicateType'],
              properties: { predicateType: text, signers: names },
            },
          },
          predicateTypes: names,
        },
      },
    },
  },
} as const;

interface RawPolicy {
  version: 1;
  keys?: Record<string, { publicKey: string; validFrom?: string; validUntil?: string }>;
  identities?: Record<string, IdentityRule>;
  rules: {
    kind?: ArtifactKind;
    match?: string | string[];
    signers: string[];
    tlog?: boolean;
    attestations?: { predicateType: string; signers?: string[] }[];
    predicateTypes?: string[];
  }[];
}

type JsonPath = (string | number)[];

/**
 * Reads a gate policy (YAML or JSON; JSON is read as the YAML it also is), checks it against
 * the schema and for names that lead nowhere, and loads its keys: a PEM file (relative to the
 * policy file), inline PEM, or a key reference (a KMS key, through its provider). Every
 * problem is an E_INPUT error naming the file, the line, the path in the policy and what is
 * wrong, in one line.
 */
export async function loadGatePolicy(file: string, options: ProviderOptions = {}): Promise<GatePolicy> {
  const content = (
    await readRegularFile(file, {
      bytes: MAX_POLICY_BYTES,
      error: (size) =>
        new SignetError({ code: 'E_INPUT', message: `${file} is ${size} bytes; a policy file is at most ${MAX_POLICY_BYTES}` }),
    })
  ).toString('utf8');
  const source = new PolicySource(file, content);
  const raw = source.value as RawPolicy;
  checkSchema(raw, source);

  const signerNames = new Set(Object.keys(raw.keys ?? {}));
  const identities = new Map<string, IdentityRule>();
  for (const [name, identity] of Object.entries(raw.identities ?? {})) {
    if (signerNames.has(name))
      throw source.error(['identities'], `"${name}" is also the name of a key; each signer needs its own name`, name);
    signerNames.add(name);
    identities.set(name, checkIdentity(identity, ['identities', name], source));
  }
  const rules = raw.rules.map((rule, i) => checkRule(rule, ['rules', i], source, signerNames));
  const keys = new Map(
    await Promise.all(
      Object.entries(raw.keys ?? {}).map(async ([name, key]) => [name, await loadKey(name, key, source, options)] as [string, TrustedKey]),
    ),
  );
  return { source: file, keys, identities, rules };
}

/** The parsed policy document, and where in the file each part of it is. */
class PolicySource {
  readonly value: unknown;
  private readonly document: Document.Parsed;
  private readonly lines: LineCounter;

  constructor(
    readonly file: string,
    content: string,
  ) {
    const yaml = require('yaml') as typeof import('yaml');
    this.lines = new yaml.LineCounter();
    this.document = yaml.parseDocument(content, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    const [problem] = this.document.errors;
    if (problem) {
      const at = this.lines.linePos(problem.pos[0]);
      const what = problem.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '');
      throw new SignetError({ code: 'E_INPUT', message: `${file}:${at.line}:${at.col}: ${what}`, cause: problem });
    }
    try {
      this.value = this.document.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      // yaml refuses an alias that expands too far (a "billion laughs" document) as it builds the value.
      throw new SignetError({
        code: 'E_INPUT',
        message: `${file}: ${(cause as Error).message.split('\n')[0]}; a policy does not need aliases that expand this far`,
        cause,
      });
    }
  }

  /** An E_INPUT error at `at` (at the key `key` of that mapping, when given). */
  error(at: JsonPath, what: string, key?: string, code: SignetErrorCode = 'E_INPUT', cause?: unknown): SignetError {
    const where = at.length > 0 ? ` ${formatPath(at)}:` : '';
    return new SignetError({ code, message: `${this.file}:${this.position(at, key)}:${where} ${what}`, cause });
  }

  private position(at: JsonPath, key?: string): string {
    const yaml = require('yaml') as typeof import('yaml');
    const node = this.document.getIn(at, true);
    let offset = yaml.isNode(node) ? (node.range?.[0] ?? 0) : 0;
    if (key !== undefined && yaml.isMap(node)) {
      const pair = node.items.find((item) => yaml.isScalar(item.key) && item.key.value === key);
      if (yaml.isScalar(pair?.key)) offset = pair.key.range?.[0] ?? offset;
    }
    const { line, col } = this.lines.linePos(offset);
    return `${line}:${col}`;
  }
}

/** `rules[0].signers[1]`, `keys.release`, `keys["a b"]`. */
function formatPath(at: JsonPath): string {
  return at
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (/^[A-Za-z_$][\w$-]*$/.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

let policyValidator: import('ajv').ValidateFunction | undefined;

function checkSchema(raw: unknown, source: PolicySource): void {
  if (policyValidator === undefined) {
    const Ajv = (require('ajv') as typeof import('ajv')).default;
    policyValidator = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true }).compile(POLICY_SCHEMA);
  }
  if (policyValidator(raw)) return;
  const errors = policyValidator.errors ?? [];
  // One error, the most telling: a misspelt field before the required one it was meant to be;
  // a bad name is reported twice (its pattern, then propertyNames), the second says which name.
  const error = errors.find((e) => e.keyword === 'additionalProperties') ?? errors.find((e) => e.keyword === 'propertyNames') ?? errors[0];
  if (!error) throw source.error([], 'does not match the policy schema');
  const at = jsonPath(raw, error.instancePath);
  throw schemaError(error, at, source);
}

/** Ajv's JSON pointer as path segments, numbers where the value is a list. */
function jsonPath(root: unknown, pointer: string): JsonPath {
  const at: JsonPath = [];
  let value = root;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const step = Array.isArray(value) ? Number(segment) : segment;
    at.push(step);
    value = (value as Record<string | number, unknown> | undefined)?.[step];
  }
  return at;
}

function schemaError(error: ErrorObject, at: JsonPath, source: PolicySource): SignetError {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'propertyNames':
      return source.error(
        at,
        `${JSON.stringify(params.propertyName)} is not a usable name: use letters, digits, ".", "_" and "-"`,
        params.propertyName as string,
      );
    case 'additionalProperties': {
      const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const field = params.additionalProperty as string;
      return source.error(at, `unknown field "${field}"${allowed.length ? ` (expected ${allowed.join(', ')})` : ''}`, field);
    }
    case 'required':
      return source.error(at, `missing required field "${params.missingProperty}"`);
    case 'type':
      return source.error(at, `must be ${[params.type].flat().map(typeName).join(' or ')}, not ${describe(error.data)}`);
    case 'enum':
      return source.error(at, `must be one of ${(params.allowedValues as unknown[]).join(', ')}, not ${describe(error.data)}`);
    case 'const':
      return source.error(at, `must be ${JSON.stringify(params.allowedValue)}, not ${describe(error.data)}`);
    case 'minItems':
    case 'minLength':
      return source.error(at, 'must not be empty');
    default:
      return source.error(at, error.message ?? 'does not match the policy schema');
  }
}

function typeName(type: unknown): string {
  return (
    { string: 'a string', boolean: 'true or false', array: 'a list', object: 'a mapping', number: 'a number', integer: 'a whole number' }[
      type as string
    ] ?? String(type)
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 39)}…` : json;
}

function checkIdentity(identity: IdentityRule, at: JsonPath, source: PolicySource): IdentityRule {
  for (const [exact, pattern] of [
    ['issuer', 'issuerRegExp'],
    ['subject', 'subjectRegExp'],
  ] as const) {
    const given = [identity[exact], identity[pattern]].filter((value) => value !== undefined).length;
    if (given !== 1) {
      throw source.error(
        at,
        given === 0
          ? `give ${exact} or ${pattern}: a keyless identity without one would trust any ${exact}`
          : `give ${exact} or ${pattern}, not both`,
      );
    }
    const regExp = identity[pattern];
    if (regExp !== undefined) {
      try {
        anchoredRegExp(regExp, pattern);
      } catch (cause) {
        const reason = ((cause as Error).cause as Error | undefined)?.message.split(': ').pop();
        throw source.error([...at, pattern], `not a valid regular expression${reason ? `: ${reason}` : ''}`);
      }
    }
  }
  return identity;
}

function checkRule(rule: RawPolicy['rules'][number], at: JsonPath, source: PolicySource, signerNames: ReadonlySet<string>): GateRule {
  if (rule.kind === undefined && rule.match === undefined) {
    throw source.error(at, 'give kind, match or both: say which artifacts the rule is for (match: "**" for every one)');
  }
  const checkSigners = (list: string[], listAt: JsonPath) =>
    list.forEach((name, i) => {
      if (!signerNames.has(name)) {
        const known = [...signerNames];
        throw source.error(
          [...listAt, i],
          `"${name}" is not a key or identity of the policy (${known.length ? `it has ${known.join(', ')}` : 'it names none'})`,
        );
      }
    });
  checkSigners(rule.signers, [...at, 'signers']);
  if (rule.kind === 'attestation' && rule.attestations) {
    throw source.error(
      [...at, 'attestations'],
      'an attestation rule checks the attestation itself: say which predicate types with predicateTypes',
    );
  }
  // An image rule's globs, in the spelling of the names they will be matched against.
  const match = rule.match === undefined ? undefined : [rule.match].flat();
  if (rule.kind === 'image' && match !== undefined) {
    match.forEach((pattern, i) => {
      try {
        match[i] = canonicalImagePattern(pattern);
      } catch (cause) {
        throw source.error(
          Array.isArray(rule.match) ? [...at, 'match', i] : [...at, 'match'],
          (cause as Error).message,
          undefined,
          'E_INPUT',
          cause,
        );
      }
    });
  }
  if (rule.kind === 'attestation' && !rule.predicateTypes) {
    throw source.error(
      at,
      'an attestation rule says which predicate types it accepts (predicateTypes): an attestation proves only what its type says',
    );
  }
  if (rule.predicateTypes && rule.kind !== 'attestation') {
    throw source.error(
      [...at, 'predicateTypes'],
      'predicateTypes is for kind: attestation; an artifact requires attestations with attestations: [{ predicateType }]',
    );
  }
  const predicateType = (type: string, typeAt: JsonPath) => {
    try {
      return resolvePredicateType(type);
    } catch (cause) {
      throw source.error(typeAt, (cause as Error).message, undefined, 'E_INPUT', cause);
    }
  };
  const attestations = (rule.attestations ?? []).map((required, i) => {
    const requiredAt = [...at, 'attestations', i];
    if (required.signers) checkSigners(required.signers, [...requiredAt, 'signers']);
    return {
      predicateType: predicateType(required.predicateType, [...requiredAt, 'predicateType']),
      signers: required.signers ?? rule.signers,
    };
  });
  const checked: GateRule = { signers: rule.signers, tlog: rule.tlog ?? false, attestations };
  if (rule.kind) checked.kind = rule.kind;
  if (match !== undefined) checked.match = match;
  if (rule.predicateTypes) checked.predicateTypes = rule.predicateTypes.map((type, i) => predicateType(type, [...at, 'predicateTypes', i]));
  return checked;
}

/** A policy key: inline PEM, a PEM file relative to the policy file, or a key reference. */
async function loadKey(
  name: string,
  key: NonNullable<RawPolicy['keys']>[string],
  source: PolicySource,
  options: ProviderOptions,
): Promise<TrustedKey> {
  const at = ['keys', name];
  const window: Pick<TrustedKey, 'validFrom' | 'validUntil'> = {};
  for (const bound of ['validFrom', 'validUntil'] as const) {
    const value = key[bound];
    if (value === undefined) continue;
    const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(time.getTime())) {
      throw source.error(
        [...at, bound],
        `${JSON.stringify(value)} is not a date; use ISO 8601, such as 2026-01-31 or 2026-01-31T12:00:00Z`,
      );
    }
    window[bound] = time;
  }
  if (window.validFrom && window.validUntil && window.validFrom > window.validUntil) {
    throw source.error([...at, 'validUntil'], 'is before validFrom');
  }
  const keyAt = [...at, 'publicKey'];
  const fail = (cause: unknown, what?: string) => {
    const code = (cause as SignetError | undefined)?.code;
    // A KMS that cannot be reached is a provider failure (exit 3), not a bad policy.
    const kept = code === 'E_PROVIDER' || code === 'E_PERMISSION' || code === 'E_KEY_DISABLED' ? code : 'E_INPUT';
    return source.error(keyAt, what ?? (cause as Error).message, undefined, kept, cause);
  };
  const value = key.publicKey.trim();
  let publicKey: KeyObject;
  try {
    if (value.startsWith('-----BEGIN')) {
      publicKey = parsePublicKey(value, `keys.${name}`);
    } else {
      const ref = parseKeyRef(value);
      if (ref.scheme === 'keyless') throw fail(undefined, 'keyless is not a key; trust a keyless signer under identities');
      if (ref.scheme === 'file') {
        const file = path.resolve(path.dirname(source.file), ref.location);
        let pem: string;
        try {
          pem = (await readRegularFile(file)).toString('utf8');
        } catch (cause) {
          throw fail(cause, (cause as Error).message.replace(file, ref.location));
        }
        if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem) || pem.includes('PRIVATE KEY-----')) {
          throw fail(undefined, `${ref.location} is not a PEM public key; a policy trusts public keys (signet key public writes one)`);
        }
        publicKey = parsePublicKey(pem, ref.location);
      } else {
        const trusted = await trustedKeyFromRef(value, options);
        publicKey = typeof trusted.publicKey === 'string' ? parsePublicKey(trusted.publicKey, `keys.${name}`) : trusted.publicKey;
      }
    }
    // A key too weak to trust is a policy mistake, said where it is written, not at the first artifact.
    assertAcceptableKey(publicKey, `keys.${name}`);
  } catch (cause) {
    if (cause instanceof SignetError && cause.message.startsWith(`${source.file}:`)) throw cause;
    throw fail(cause);
  }
  return { publicKey, name, ...window };
}
