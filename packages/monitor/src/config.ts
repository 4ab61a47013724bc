import path from 'node:path';
import { checkIdentityRule, type IdentityRule, readRegularFile, SignetError } from '@signet/core';
import Ajv from 'ajv';
import YAML, { LineCounter } from 'yaml';
import type { CertIdentity, OidMatcher, WatchSpec } from './matchers';

/*
 * monitor.yaml. The identity section is rekor-monitor's (`monitoredValues`: certIdentities,
 * fingerprints, oidMatchers with fulcioExtensions, oidExtensions and customExtensions), read
 * with the same meaning except that a pattern must match the whole value, never a substring
 * (rekor-monitor's `user@domain\.com` also matches `eviluser@domain.com.example`). Signet adds
 * `identities` (exact or pattern, as a verification policy names them), the logs, the npm
 * packages, the ledger and the state file.
 */

/** A log to watch: Rekor v1 (its API), or Rekor v2 (its tiles, over HTTP or in a folder: a file: URL). */
export interface LogSpec {
  url: string;
  version: 1 | 2;
}

export interface NpmPackageSpec {
  name: string;
  /** `auto`: a version without provenance alerts once any earlier version had it; `required`: always; `off`: never. */
  provenance: 'auto' | 'required' | 'off';
  /** Whose provenance is expected (a verification policy's identities); empty: provenance identity is not checked. */
  identities: IdentityRule[];
}

export interface MonitorConfig {
  /** The file it was read from, for messages. */
  source: string;
  logs: LogSpec[];
  watch: WatchSpec;
  npm?: { registry: string; packages: NpmPackageSpec[] };
  ledger?: string;
  state?: string;
  trustedRoot?: string;
  tufMirror?: string;
  tufRoot?: string;
  /** A log whose size has not grown for this long is an alert (milliseconds). */
  stalledAfterMs: number;
}

export const PUBLIC_GOOD_LOGS: readonly LogSpec[] = [
  { url: 'https://rekor.sigstore.dev', version: 1 },
  { url: 'https://log2025-1.rekor.sigstore.dev', version: 2 },
];

export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org';
const DEFAULT_STALLED_AFTER = '24h';
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Fulcio's extensions by rekor-monitor's names (pkg/fulcio/extensions), arc 1.3.6.1.4.1.57264.1. */
export const FULCIO_EXTENSIONS: Record<string, string> = {
  issuer: '1.1',
  'github-workflow-trigger': '1.2',
  'github-workflow-sha': '1.3',
  'github-workflow-name': '1.4',
  'github-workflow-repository': '1.5',
  'github-workflow-ref': '1.6',
  'build-signer-uri': '1.9',
  'build-signer-digest': '1.10',
  'runner-environment': '1.11',
  'source-repository-uri': '1.12',
  'source-repository-digest': '1.13',
  'source-repository-ref': '1.14',
  'source-repository-identifier': '1.15',
  'source-repository-owner-uri': '1.16',
  'source-repository-owner-identifier': '1.17',
  'build-config-uri': '1.18',
  'build-config-digest': '1.19',
  'build-trigger': '1.20',
  'run-invocation-uri': '1.21',
  'source-repository-visibility-at-signing': '1.22',
};

const text = { type: 'string', minLength: 1 } as const;
const texts = { type: 'array', items: text } as const;
const identityRule = {
  type: 'object',
  additionalProperties: false,
  properties: { issuer: text, issuerRegExp: text, subject: text, subjectRegExp: text, sourceRepository: text, sourceRepositoryRef: text },
} as const;
const oid = { type: 'string', pattern: '^[0-2](\\.(0|[1-9][0-9]*))+$' } as const;

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    logs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'version'],
        properties: { url: text, version: { enum: [1, 2] } },
      },
    },
    monitoredValues: {
      type: 'object',
      additionalProperties: false,
      properties: {
        certIdentities: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['certSubject'],
            properties: { certSubject: text, issuers: texts },
          },
        },
        fingerprints: { type: 'array', items: { type: 'string', pattern: '^(sha256:)?[0-9A-Fa-f]{64}$' } },
        subjects: texts,
        oidMatchers: {
          type: 'object',
          additionalProperties: false,
          properties: {
            fulcioExtensions: { type: 'object', propertyNames: { enum: Object.keys(FULCIO_EXTENSIONS) }, additionalProperties: texts },
            customExtensions: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['objectIdentifier', 'extensionValues'],
                properties: { objectIdentifier: oid, extensionValues: { ...texts, minItems: 1 } },
              },
            },
            oidExtensions: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['objectIdentifier', 'extensionValues'],
                properties: {
                  objectIdentifier: { type: 'array', minItems: 2, items: { type: 'integer', minimum: 0 } },
                  extensionValues: { ...texts, minItems: 1 },
                },
              },
            },
          },
        },
      },
    },
    identities: { type: 'array', items: identityRule },
    npm: {
      type: 'object',
      additionalProperties: false,
      required: ['packages'],
      properties: {
        registry: text,
        packages: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name: text,
              provenance: { enum: ['auto', 'required', 'off'] },
              identities: { type: 'array', items: identityRule },
            },
          },
        },
      },
    },
    ledger: text,
    state: text,
    trustedRoot: text,
    tufMirror: text,
    tufRoot: text,
    stalledAfter: { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$' },
  },
} as const;

let validator: ReturnType<Ajv['compile']> | undefined;

function badConfig(file: string, message: string, cause?: unknown): SignetError {
  return new SignetError({ code: 'E_INPUT', message: `${file}: ${message}`, cause });
}

/** Reads and checks monitor.yaml (or JSON); every problem is one E_INPUT line naming the file, the line and the setting. */
export async function loadMonitorConfig(file: string): Promise<MonitorConfig> {
  const content = (
    await readRegularFile(file, {
      bytes: MAX_CONFIG_BYTES,
      error: (size) => badConfig(file, `${size} bytes; a monitor config is at most ${MAX_CONFIG_BYTES}`),
    })
  ).toString('utf8');
  const lineCounter = new LineCounter();
  const document = YAML.parseDocument(content, { lineCounter, uniqueKeys: true });
  if (document.errors.length > 0) {
    const error = document.errors[0] as { message: string; linePos?: { line: number }[] };
    throw badConfig(file, `not valid YAML at line ${error.linePos?.[0]?.line ?? '?'}: ${error.message.split('\n')[0]}`);
  }
  // Checked against SCHEMA just below; read field by field after that.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const raw = (document.toJS() ?? {}) as Record<string, any>;
  validator ??= new Ajv({ allErrors: false, strict: false }).compile(SCHEMA);
  if (!validator(raw)) {
    const error = validator.errors?.[0];
    const at = (error?.instancePath ?? '').split('/').slice(1);
    const node =
      at.length > 0
        ? document.getIn(
            at.map((part) => (/^\d+$/.test(part) ? Number(part) : part)),
            true,
          )
        : undefined;
    const range = (node as { range?: [number] } | undefined)?.range;
    const line = range ? ` (line ${lineCounter.linePos(range[0]).line})` : '';
    const where = at.length > 0 ? at.join('.') : 'the config';
    const detail =
      error?.keyword === 'additionalProperties'
        ? `has no setting "${(error.params as { additionalProperty: string }).additionalProperty}"`
        : error?.keyword === 'propertyNames' || (error as { propertyName?: string } | undefined)?.propertyName !== undefined
          ? `names a Fulcio extension that does not exist, "${(error as { propertyName?: string }).propertyName ?? ''}" (known: ${Object.keys(FULCIO_EXTENSIONS).join(', ')})`
          : (error?.message ?? 'is malformed');
    throw badConfig(file, `${where}${line} ${detail}`);
  }
  const values = raw.monitoredValues ?? {};
  if (Array.isArray(values.subjects) && values.subjects.length > 0) {
    throw badConfig(
      file,
      'monitoredValues.subjects matches SSH and PGP keys, which Signet neither signs with nor reads from the log; watch fingerprints or certificate identities',
    );
  }
  const certIdentities: CertIdentity[] = values.certIdentities ?? [];
  certIdentities.forEach((identity, i) => {
    for (const [j, pattern] of [identity.certSubject, ...(identity.issuers ?? [])].entries()) {
      try {
        new RegExp(pattern);
      } catch (cause) {
        throw badConfig(
          file,
          `monitoredValues.certIdentities[${i}].${j === 0 ? 'certSubject' : `issuers[${j - 1}]`} is not a valid regular expression`,
          cause,
        );
      }
    }
  });
  const identities: IdentityRule[] = raw.identities ?? [];
  for (const [i, rule] of identities.entries()) checkRule(file, rule, `identities[${i}]`);
  const oidMatchers: OidMatcher[] = [];
  for (const [name, extensionValues] of Object.entries((values.oidMatchers?.fulcioExtensions ?? {}) as Record<string, string[]>)) {
    // The issuer as core reads it: the current extension (1.8), else the deprecated one (1.1).
    const oid = name === 'issuer' ? '1.3.6.1.4.1.57264.1.8' : `1.3.6.1.4.1.57264.${FULCIO_EXTENSIONS[name]}`;
    oidMatchers.push({ oid, ...(name === 'issuer' && { fallbackOid: '1.3.6.1.4.1.57264.1.1' }), values: extensionValues, label: name });
  }
  for (const custom of values.oidMatchers?.customExtensions ?? []) {
    oidMatchers.push({ oid: custom.objectIdentifier, values: custom.extensionValues, label: custom.objectIdentifier });
  }
  for (const custom of values.oidMatchers?.oidExtensions ?? []) {
    const dotted = (custom.objectIdentifier as number[]).join('.');
    oidMatchers.push({ oid: dotted, values: custom.extensionValues, label: dotted });
  }
  const fingerprints: string[] = values.fingerprints ?? [];
  const base = path.dirname(path.resolve(file));
  const resolve = (value: unknown) => (typeof value === 'string' ? path.resolve(base, value) : undefined);
  const logs: LogSpec[] = (raw.logs ?? PUBLIC_GOOD_LOGS).map((log: LogSpec) => ({
    version: log.version,
    url: logUrl(file, log.url, base),
  }));
  let npm: MonitorConfig['npm'];
  if (raw.npm) {
    const packages: NpmPackageSpec[] = (
      raw.npm.packages as { name: string; provenance?: NpmPackageSpec['provenance']; identities?: IdentityRule[] }[]
    ).map((pkg, i) => {
      for (const [j, rule] of (pkg.identities ?? []).entries()) checkRule(file, rule, `npm.packages[${i}].identities[${j}]`);
      return { name: pkg.name, provenance: pkg.provenance ?? 'auto', identities: pkg.identities ?? [] };
    });
    npm = { registry: raw.npm.registry ?? DEFAULT_NPM_REGISTRY, packages };
  }
  const watching = certIdentities.length + identities.length + fingerprints.length + oidMatchers.length;
  if (logs.length > 0 && watching === 0) {
    throw badConfig(
      file,
      'watches logs but no identity, fingerprint or extension: say whose entries to look for under monitoredValues or identities',
    );
  }
  return {
    source: file,
    logs,
    watch: { certIdentities, identities, fingerprints, oidMatchers },
    npm,
    ledger: resolve(raw.ledger),
    state: resolve(raw.state),
    trustedRoot: resolve(raw.trustedRoot),
    tufMirror: raw.tufMirror,
    tufRoot: resolve(raw.tufRoot),
    stalledAfterMs: durationMs(raw.stalledAfter ?? DEFAULT_STALLED_AFTER),
  };
}

function checkRule(file: string, rule: IdentityRule, where: string): void {
  try {
    checkIdentityRule(rule);
  } catch (cause) {
    throw badConfig(file, `${where} needs one of subject or subjectRegExp and one of issuer or issuerRegExp (a valid pattern)`, cause);
  }
}

/** A log URL: http(s), or a folder of tiles (a file: URL or a path, relative to the config). */
function logUrl(file: string, url: string, base: string): string {
  if (/^https?:\/\//.test(url) || url.startsWith('file:')) {
    try {
      return new URL(url).href.replace(/\/+$/, '');
    } catch (cause) {
      throw badConfig(file, `logs: ${url} is not a URL`, cause);
    }
  }
  return new URL(`file://${path.resolve(base, url)}`).href;
}

function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text) as unknown as [string, string, string];
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms'];
  return Number(match[1]) * unit;
}
