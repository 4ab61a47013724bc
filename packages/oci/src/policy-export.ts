import type { KeyObject } from 'node:crypto';
import {
  algorithmForKey,
  algorithmInfo,
  canonicalImagePattern,
  type GatePolicy,
  type GateRule,
  type IdentityRule,
  PUBLIC_GOOD_REKOR_URL,
  parsePublicKey,
  predicateTypeName,
  publicKeyPem,
  SignetError,
} from '@signet/core';
import { kyvernoRespelledReferencesRule, POLICY_CONTROLLER_RESPELLED_GLOBS } from './respelled-references';
import type { SignatureFormat } from './sign-image';

/*
 * A gate policy's `kind: image` rules as the policies of the admission controllers teams
 * already run: a Kyverno ClusterPolicy (verifyImages, for Kyverno before 1.20) or Sigstore
 * policy-controller ClusterImagePolicies; the Kyverno ImageValidatingPolicy, which shares the
 * image rules and signers below, is in image-validating-policy.ts. The translation is as close as the two allow, and every place where
 * they cannot say what Signet says is returned as a warning, never dropped in silence.
 *
 * Three differences run through everything here:
 * - Signet applies the first image rule that matches an image; Kyverno applies every rule
 *   whose imageReferences match and policy-controller every ClusterImagePolicy whose glob
 *   matches, and the image must pass all of them.
 * - Signet's globs are picomatch globs on REGISTRY/REPOSITORY (`*` stops at "/", `**` spans
 *   segments); the others match the whole reference, tag or digest included.
 * - Signet matches the name in its canonical spelling (GHCR.io:443/acme/shop is
 *   ghcr.io/acme/shop); the others match the reference as written. Each exported policy so
 *   begins by denying the respellings (see respelled-references.ts), so that an image meets
 *   there the rule it meets in Signet.
 */

export interface PolicyExportOptions {
  /** metadata.name of the ClusterPolicy, the prefix of the ClusterImagePolicies (default `signet-images`). */
  name?: string;
  /** How the images were signed: cosign v3 bundles as OCI referrers (default) or legacy `.sig` tags. */
  format?: Exclude<SignatureFormat, 'both'>;
}

export interface PolicyExport {
  /** Kubernetes objects, in order. */
  documents: object[];
  /** What the target cannot express, one line each, naming the place in the policy. */
  warnings: string[];
}

const DEFAULT_NAME = 'signet-images';
const PUBLIC_GOOD_FULCIO_URL = 'https://fulcio.sigstore.dev';
// A name that is a valid Kubernetes object name with room for the `-rule-N-…` suffixes.
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/**
 * A Kyverno ClusterPolicy (kyverno.io/v1, checked against Kyverno 1.19's ImageVerification):
 * a rule denying respelled image references, then one rule per image rule, verifying Pod
 * images (containers' and image volumes') with `type: SigstoreBundle` (`Cosign` for legacy
 * signatures); an earlier rule's names are skipped by later rules, so that each image is held
 * to the first rule that covers it, as Signet does.
 */
export function kyvernoPolicy(policy: GatePolicy, options: PolicyExportOptions = {}): PolicyExport {
  const name = exportName(options);
  const format = options.format ?? 'bundle';
  const warnings = new Warnings('Kyverno');
  const rules = imageRules(policy, warnings);
  const signers = new Signers(policy, warnings);

  const kyvernoRules = rules.map((current, n) => {
    const earlier = rules.slice(0, n);
    // Skipping is safe only for names that match exactly what Signet's glob matches: a broader
    // Kyverno pattern would let an image skip this rule that no earlier Signet rule covers.
    const skip = unique(earlier.flatMap((rule) => rule.patterns.filter((p) => p.exactInKyverno).flatMap((p) => p.kyverno)));
    for (const rule of earlier) {
      for (const pattern of rule.patterns.filter((p) => !p.exactInKyverno)) {
        if (current.patterns.some((other) => mayOverlap(pattern, other))) {
          warnings.add(
            `rules[${current.index}]: an image that rules[${rule.index}]'s "${pattern.source}" also covers in Kyverno must pass both rules, where Signet applies only rules[${rule.index}]`,
          );
        }
      }
    }
    for (const pattern of current.patterns.filter((p) => !p.exactInKyverno)) {
      warnings.add(
        `rules[${current.index}].match "${pattern.source}": Kyverno's * and ? also match "/", so ${pattern.kyverno[0]} covers more images than Signet's glob (deeper repositories too)`,
      );
    }
    const entries = (names: readonly string[]) => [
      { count: 1, entries: names.map((signer) => signers.kyvernoEntry(signer, current.rule.tlog)) },
    ];
    const verify: Record<string, unknown> = {
      imageReferences: current.all ? ['*'] : unique(current.patterns.flatMap((p) => p.kyverno)),
    };
    if (skip.length > 0) verify.skipImageReferences = skip;
    Object.assign(verify, {
      type: format === 'bundle' ? 'SigstoreBundle' : 'Cosign',
      mutateDigest: true,
      verifyDigest: true,
      required: true,
      failureAction: 'Enforce',
      attestors: entries(current.rule.signers),
    });
    if (current.rule.attestations.length > 0) {
      verify.attestations = current.rule.attestations.map((required) => ({
        type: required.predicateType,
        attestors: entries(required.signers),
      }));
    }
    return {
      name: `image-rule-${current.index}`,
      match: { any: [{ resources: { kinds: ['Pod'] } }] },
      // A rule's field (kyverno.io/v1 Rule.imageExtractors), not a verifyImages entry's: there
      // the API server would drop it, or kubectl refuse it as an unknown field.
      imageExtractors: POD_IMAGE_EXTRACTORS,
      verifyImages: [verify],
    };
  });

  const document = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: {
      // Kyverno's recommendation for verifyImages: fail closed when the webhook cannot answer,
      // with the longest timeout the API server allows (registry and Rekor round trips); no
      // background scans, which would re-verify running Pods against registries.
      webhookConfiguration: { failurePolicy: 'Fail', timeoutSeconds: 30 },
      background: false,
      rules: [kyvernoRespelledReferencesRule(), ...kyvernoRules],
    },
  };
  return { documents: [document], warnings: warnings.list() };
}

/**
 * Sigstore policy-controller ClusterImagePolicies (policy.sigstore.dev/v1beta1, as of
 * policy-controller 0.15): one failing every respelled image reference it can match, then for
 * each image rule, one for its signature and one per required attestation. Within a ClusterImagePolicy any one authority suffices, and an authority with
 * attestations checks only those, not the signature; every matching ClusterImagePolicy must
 * pass, so separate policies are how "signed by one of these, and attested by one of those"
 * is said.
 */
export function policyControllerPolicy(policy: GatePolicy, options: PolicyExportOptions = {}): PolicyExport {
  const name = exportName(options);
  const format = options.format ?? 'bundle';
  const warnings = new Warnings('policy-controller');
  const rules = imageRules(policy, warnings);
  const signers = new Signers(policy, warnings);
  const documents: object[] = [
    clusterImagePolicy(
      `${name}-respelled-references`,
      POLICY_CONTROLLER_RESPELLED_GLOBS.map((glob) => ({ glob })),
      [{ static: { action: 'fail' } }],
    ),
  ];
  const literalAddress = rules.flatMap((rule) => rule.patterns).find((pattern) => /^\d+\.\d+\.\d+\.\d+[:/]/.test(pattern.source));
  if (literalAddress) {
    warnings.add(
      `"${literalAddress.source}" names a registry by its address; policy-controller's globs cannot refuse another spelling of an address (127.1 for 127.0.0.1), which would meet another rule there`,
    );
  }

  rules.forEach((current, n) => {
    for (const rule of rules.slice(0, n)) {
      const shared = rule.patterns.find((pattern) => current.patterns.some((other) => mayOverlap(pattern, other)));
      if (shared) {
        warnings.add(
          `rules[${current.index}]: an image that rules[${rule.index}]'s "${shared.source}" also covers must pass both rules in policy-controller (it has no way to skip images), where Signet applies only rules[${rule.index}]`,
        );
      }
    }
    for (const pattern of current.patterns.filter((p) => p.source.includes('?'))) {
      warnings.add(
        `rules[${current.index}].match "${pattern.source}": policy-controller globs have no ?, so it became *, which covers more images`,
      );
    }
    const images = current.all ? [{ glob: '**' }] : unique(current.patterns.flatMap((p) => p.policyController)).map((glob) => ({ glob }));
    const authorities = (names: readonly string[]) =>
      names.map((signer) => ({ ...signers.policyControllerAuthority(signer, current.rule.tlog), signatureFormat: format }));
    documents.push(clusterImagePolicy(`${name}-rule-${current.index}`, images, authorities(current.rule.signers)));
    current.rule.attestations.forEach((required, j) => {
      const short = predicateTypeName(required.predicateType);
      const attestation = /^[a-z0-9]+$/.test(short) ? short : `attestation-${j}`;
      documents.push(
        clusterImagePolicy(
          `${name}-rule-${current.index}-${attestation}`,
          images,
          authorities(required.signers).map((authority) => ({
            ...authority,
            attestations: [{ name: attestation, predicateType: required.predicateType }],
          })),
        ),
      );
    });
  });
  // policy-controller reads a pod's containers, init and ephemeral containers (validatePodSpec), never its volumes.
  warnings.add(IMAGE_VOLUMES_UNCHECKED);
  return { documents, warnings: warnings.list() };
}

export const IMAGE_VOLUMES_UNCHECKED =
  'image volumes (spec.volumes[].image, Kubernetes ImageVolume) are not checked by policy-controller: keep the ImageVolume feature off, or deny such volumes with another admission policy';

/** Kubernetes objects as one multi-document YAML stream. */
export function toYaml(documents: readonly object[]): string {
  const yaml = require('yaml') as typeof import('yaml');
  // lineWidth 0: a folded regular expression or PEM line would still parse, but not read back by eye.
  return documents.map((document) => yaml.stringify(document, { lineWidth: 0 })).join('---\n');
}

/**
 * Where a Pod names the images Kyverno verifies: its own three container lists (Kyverno's
 * default, which custom extractors replace) and its image volumes.
 */
const POD_IMAGE_EXTRACTORS = {
  Pod: [
    ...['initContainers', 'containers', 'ephemeralContainers'].map((list) => ({ name: list, path: `/spec/${list}/*/image`, key: 'name' })),
    // No key: the name is on the volume, one level up from the reference.
    { name: 'imageVolumes', path: '/spec/volumes/*/image/reference' },
  ],
};

function clusterImagePolicy(name: string, images: { glob: string }[], authorities: object[]): object {
  return { apiVersion: 'policy.sigstore.dev/v1beta1', kind: 'ClusterImagePolicy', metadata: { name }, spec: { images, authorities } };
}

export function exportName(options: PolicyExportOptions): string {
  const name = options.name ?? DEFAULT_NAME;
  if (!NAME_PATTERN.test(name)) {
    throw new SignetError({
      code: 'E_USAGE',
      message: `"${name}" is not usable as a policy name: use lowercase letters, digits and "-" (at most 40)`,
    });
  }
  return name;
}

export class Warnings {
  private readonly lines = new Set<string>();

  constructor(readonly tool: string) {}

  add(line: string): void {
    this.lines.add(line);
  }

  list(): string[] {
    return [...this.lines];
  }
}

// Image rules and their globs

/** One Signet glob (one alternative of its braces) in each target's terms. */
interface ImagePattern {
  /** The glob as written in the policy, for messages. */
  source: string;
  /** An RE2 (and JavaScript) regular expression matching exactly the names the alternative matches in Signet, unanchored. */
  regExp: string;
  /** Kyverno imageReferences: wildcards over REGISTRY/PATH:TAG or REGISTRY/PATH@DIGEST. */
  kyverno: string[];
  /** Whether those match exactly the names the Signet glob matches. */
  exactInKyverno: boolean;
  /** policy-controller globs, over the reference go-containerregistry normalizes. */
  policyController: string[];
  /** Each alternative's text before its first wildcard, for a conservative overlap check. */
  prefixes: { literal: string; wildcard: boolean }[];
}

export interface ImageRule {
  /** The rule's index in the policy's rules, as messages name it. */
  index: number;
  rule: GateRule;
  /** The rule covers every image (no match, or a ** glob). */
  all: boolean;
  patterns: ImagePattern[];
}

const EVERY_IMAGE: ImagePattern = {
  source: '**',
  regExp: '.*',
  kyverno: ['*'],
  exactInKyverno: true,
  policyController: ['**'],
  prefixes: [{ literal: '', wildcard: true }],
};

/** The policy's image rules that can apply to some image, in order. */
export function imageRules(policy: GatePolicy, warnings: Warnings): ImageRule[] {
  if (policy.rules.every((rule) => rule.kind !== 'image')) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${policy.source}: the policy has no kind: image rules; there is nothing to export (add one, such as { kind: image, match: "ghcr.io/acme/**", signers: [release] })`,
    });
  }
  const rules: ImageRule[] = [];
  for (const [index, rule] of policy.rules.entries()) {
    if (rule.kind !== 'image') continue;
    // In the spelling Signet matches (loadGatePolicy wrote them so; a policy built by hand may not have).
    const patterns = (rule.match ?? ['**']).flatMap((glob) =>
      imagePatterns(canonicalGlob(glob, policy.source, index), policy.source, index),
    );
    const all = patterns.includes(EVERY_IMAGE);
    const before = rules.find((r) => r.all);
    if (before) {
      warnings.add(`rules[${index}] is left out: rules[${before.index}] before it covers every image, so Signet never applies it`);
      continue;
    }
    rules.push({ index, rule, all, patterns: all ? [EVERY_IMAGE] : patterns });
  }
  return rules;
}

function canonicalGlob(glob: string, source: string, index: number): string {
  try {
    return canonicalImagePattern(glob);
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `${source}: rules[${index}].match ${(cause as Error).message}`, cause });
  }
}

function imagePatterns(glob: string, source: string, index: number): ImagePattern[] {
  // Character classes, extglobs, negation and escapes have no equivalent in either target.
  if (/[[\]\\!()|+@]/.test(glob)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${source}: rules[${index}].match "${glob}" uses glob syntax Kyverno and policy-controller cannot express; use *, **, ? and {a,b}`,
    });
  }
  const braceError = () =>
    new SignetError({
      code: 'E_INPUT',
      message: `${source}: rules[${index}].match "${glob}": only {a,b} alternatives can be exported, not a range or a lone brace`,
    });
  return expandBraces(glob, braceError).map((alternative) => imagePattern(glob, alternative));
}

function imagePattern(source: string, glob: string): ImagePattern {
  // picomatch: ** is a globstar only as a whole segment; elsewhere it is *.
  const segments = glob.split('/').map((segment) => (segment === '**' ? segment : segment.replace(/\*{2,}/g, '*')));
  if (segments.every((segment) => segment === '**')) return EVERY_IMAGE;
  // A globstar segment also matches no segment at all (a/**/b matches a/b, a/** matches a),
  // which neither target's wildcards do: say each of those names separately.
  let variants: (string | undefined)[][] = [segments];
  segments.forEach((segment, i) => {
    if (segment === '**') variants = variants.flatMap((variant) => [variant, variant.map((s, j) => (j === i ? undefined : s))]);
  });
  const names = unique(variants.map((variant) => variant.filter((s): s is string => s !== undefined).join('/')));
  const withTagOrDigest = (name: string) => [`${name}:*`, `${name}@*`];
  return {
    source,
    regExp: globRegExp(segments),
    // Kyverno compares wildcard.Match(pattern, ImageInfo.String()): REGISTRY/PATH:TAG (tag
    // "latest" when none) or REGISTRY/PATH@DIGEST, docker.io/library/nginx for nginx (with its
    // default defaultRegistry and enableDefaultRegistryMutation). Its * matches any run of
    // characters, "/" included. An image named index.docker.io/… keeps that registry there,
    // while Signet folds it into docker.io: cover both spellings.
    kyverno: unique(
      names.flatMap((name) => {
        const kyvernoName = name.replaceAll('**', '*');
        const spellings = kyvernoName.startsWith('docker.io/') ? [kyvernoName, `index.${kyvernoName}`] : [kyvernoName];
        return spellings.flatMap(withTagOrDigest);
      }),
    ),
    exactInKyverno: !glob.includes('?') && segments.every((segment) => segment === '**' || !segment.includes('*')),
    // policy-controller matches its glob against go-containerregistry's ref.Name(),
    // index.docker.io/library/nginx@sha256:…, with * as [^/]* and ** as .* (pkg/apis/glob);
    // it has no ?, and validation sees only digests, since its mutating webhook resolves tags.
    policyController: unique(
      names.flatMap((name) => {
        const normalized = name.replaceAll('?', '*');
        return withTagOrDigest(normalized.startsWith('docker.io/') ? `index.${normalized}` : normalized);
      }),
    ),
    prefixes: names.map((name) => {
      const wildcard = name.search(/[*?]/);
      return { literal: wildcard === -1 ? name : name.slice(0, wildcard), wildcard: wildcard !== -1 };
    }),
  };
}

/**
 * The names a glob's segments match, as picomatch (dot: true) matches them: `*` and `?` within
 * a segment, a `**` segment any number of whole segments, none included.
 */
function globRegExp(segments: readonly string[]): string {
  let regExp = '';
  let literalBefore = false;
  for (const segment of segments) {
    if (segment === '**') {
      regExp += literalBefore ? '(?:/[^/]+)*' : '(?:[^/]+/)*';
      continue;
    }
    const escaped = segment
      .replace(/[.+^$()|[\]\\]/g, '\\$&')
      .replaceAll('*', '[^/]*')
      .replaceAll('?', '[^/]');
    regExp += (literalBefore ? '/' : '') + escaped;
    literalBefore = true;
  }
  return regExp;
}

/** {a,b} alternatives, nested ones too; a range ({1..3}) or a lone brace is refused. */
function expandBraces(glob: string, error: () => SignetError): string[] {
  const open = glob.indexOf('{');
  if (open === -1) {
    if (glob.includes('}')) throw error();
    return [glob];
  }
  const bounds = [open];
  let depth = 0;
  let close = -1;
  for (let i = open; i < glob.length && close === -1; i++) {
    if (glob[i] === '{') depth++;
    else if (glob[i] === '}' && --depth === 0) close = i;
    else if (glob[i] === ',' && depth === 1) bounds.push(i);
  }
  if (close === -1 || bounds.length === 1) throw error();
  bounds.push(close);
  const head = glob.slice(0, open);
  const tail = glob.slice(close + 1);
  return bounds.slice(1).flatMap((end, i) => expandBraces(`${head}${glob.slice((bounds[i] as number) + 1, end)}${tail}`, error));
}

/** Whether some image could match both: false only when their literal starts rule it out. */
function mayOverlap(a: ImagePattern, b: ImagePattern): boolean {
  return a.prefixes.some((x) =>
    b.prefixes.some((y) => {
      if (!x.wildcard && !y.wildcard) return x.literal === y.literal;
      if (!x.wildcard) return x.literal.startsWith(y.literal);
      if (!y.wildcard) return y.literal.startsWith(x.literal);
      return x.literal.startsWith(y.literal) || y.literal.startsWith(x.literal);
    }),
  );
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

// Signers

/** The policy's keys and identities in each target's terms, with their warnings said once. */
export class Signers {
  constructor(
    private readonly policy: GatePolicy,
    private readonly warnings: Warnings,
  ) {}

  kyvernoEntry(name: string, tlog: boolean): object {
    const identity = this.policy.identities.get(name);
    if (identity) {
      const extensions = this.githubExtensions(name, identity);
      return {
        keyless: {
          ...this.identity(name, identity),
          ...(extensions ? { additionalExtensions: extensions } : {}),
          rekor: { url: PUBLIC_GOOD_REKOR_URL },
        },
      };
    }
    const { pem, hash } = this.key(name);
    return {
      keys: {
        publicKeys: pem,
        signatureAlgorithm: hash,
        // Without rekor Kyverno requires a log entry; ignoreTlog is how a key signature that
        // Signet did not log is accepted.
        rekor: { url: PUBLIC_GOOD_REKOR_URL, ignoreTlog: !tlog },
        // A key has no certificate and so no SCT; unless told to ignore it, Kyverno's bundle
        // verifier requires an observer timestamp that an unlogged signature does not have.
        ctlog: { ignoreSCT: true },
      },
    };
  }

  /**
   * A cosign attestor of a Kyverno ImageValidatingPolicy (policies.kyverno.io/v1, as
   * Kyverno 1.19 reads it in pkg/image/verifiers/ivpol/cosign): a keyless attestor checks
   * the certificate's issuer and subject only, so a source repository or ref is a warning.
   */
  imageValidatingAttestor(name: string, tlog: boolean): object {
    const identity = this.policy.identities.get(name);
    if (identity) {
      for (const [field, loss] of [
        ['sourceRepository', 'whichever repository runs it'],
        ['sourceRepositoryRef', 'at any ref'],
      ] as const) {
        if (identity[field] !== undefined) {
          this.warnings.add(
            `identities.${name}.${field} has no ImageValidatingPolicy equivalent: its verifier checks a certificate's issuer and subject only (keyless.additionalExtensions, which Kyverno 1.19's schema accepts, is never read), so the exported attestor trusts the workflow ${loss}; a ClusterPolicy (--kyverno-clusterpolicy) checks it for GitHub`,
          );
        }
      }
      // The log and the SCT are required (no insecureIgnore*), checked against the public-good
      // Rekor and CT log keys from Sigstore's TUF repository, as Signet requires both of a certificate.
      return { cosign: { keyless: { identities: [this.identity(name, identity)] }, ctlog: { url: PUBLIC_GOOD_REKOR_URL } } };
    }
    const { pem, hash } = this.key(name);
    return {
      cosign: {
        key: { data: pem, hashAlgorithm: hash },
        // A key has no certificate and so no SCT to require; the log entry is required only
        // where the rule says tlog (Kyverno then needs no Sigstore service at all for the key).
        ctlog: tlog ? { url: PUBLIC_GOOD_REKOR_URL, insecureIgnoreSCT: true } : { insecureIgnoreTlog: true, insecureIgnoreSCT: true },
      },
    };
  }

  policyControllerAuthority(name: string, tlog: boolean): object {
    const identity = this.policy.identities.get(name);
    if (identity) {
      for (const field of ['sourceRepository', 'sourceRepositoryRef'] as const) {
        if (identity[field] !== undefined) {
          this.warnings.add(
            `identities.${name}.${field} has no policy-controller equivalent: the exported authority trusts the workflow whichever repository runs it, at any ref`,
          );
        }
      }
      // No ctlog: a keyless authority then checks the Rekor entry offline against the
      // public-good Rekor keys (from TUF), as cosign does.
      return { name, keyless: { url: PUBLIC_GOOD_FULCIO_URL, identities: [this.identity(name, identity)] } };
    }
    const { pem, hash } = this.key(name);
    // A key authority without ctlog does not look for a log entry at all; with ctlog.url it
    // requires one, in that Rekor.
    return { name, key: { data: pem, hashAlgorithm: hash }, ...(tlog ? { ctlog: { url: PUBLIC_GOOD_REKOR_URL } } : {}) };
  }

  private key(name: string): { pem: string; hash: string } {
    const trusted = this.policy.keys.get(name);
    if (!trusted)
      throw new SignetError({ code: 'E_INPUT', message: `${this.policy.source}: "${name}" is not a key or identity of the policy` });
    const key: KeyObject = typeof trusted.publicKey === 'string' ? parsePublicKey(trusted.publicKey, `keys.${name}`) : trusted.publicKey;
    const tool = this.warnings.tool;
    const window = [
      trusted.validFrom ? `validFrom ${day(trusted.validFrom)}` : '',
      trusted.validUntil ? `validUntil ${day(trusted.validUntil)}` : '',
    ].filter(Boolean);
    if (window.length > 0) {
      this.warnings.add(
        `keys.${name}: ${window.join(', ')} has no ${tool} equivalent; ${tool} trusts the key at any time, so take it out of the exported policy when its window closes`,
      );
    }
    const algorithm = algorithmForKey(key);
    if (algorithm.startsWith('rsa-pss')) {
      this.warnings.add(
        `keys.${name}: an RSA-PSS key; ${tool} (Go) cannot load an id-RSASSA-PSS public key, so its signatures will not verify there`,
      );
    }
    // The exported key is the public key itself, also for a key the policy names by a KMS URI:
    // the cluster then needs no access to the KMS.
    return { pem: publicKeyPem(key), hash: algorithmInfo(algorithm).hash };
  }

  /**
   * The repository that ran a GitHub Actions workflow and its ref, as Kyverno checks them: the
   * certificate's GitHub extensions (1.3.6.1.4.1.57264.1.5 and 1.6, which Fulcio still writes),
   * as OWNER/REPO and the ref. Other source repositories have no Kyverno equivalent: a warning.
   */
  private githubExtensions(name: string, identity: IdentityRule): Record<string, string> | undefined {
    const extensions: Record<string, string> = {};
    const repository = identity.sourceRepository;
    if (repository !== undefined) {
      const github = /^https:\/\/github\.com\/([^/]+\/[^/]+)$/.exec(repository);
      if (github) extensions.githubWorkflowRepository = github[1] as string;
      else {
        this.warnings.add(
          `identities.${name}.sourceRepository ${repository} is not a GitHub repository; ${this.warnings.tool} checks the repository only for GitHub Actions, so the exported policy trusts the workflow whichever repository runs it`,
        );
      }
    }
    if (identity.sourceRepositoryRef !== undefined) extensions.githubWorkflowRef = identity.sourceRepositoryRef;
    return Object.keys(extensions).length > 0 ? extensions : undefined;
  }

  /**
   * Signet matches a regular expression against the whole value; Kyverno and policy-controller
   * (through cosign and sigstore-go) use Go's regexp.MatchString, which finds a match anywhere:
   * anchor it.
   */
  private identity(name: string, identity: IdentityRule): Record<string, string> {
    const exported: Record<string, string> = {};
    for (const [exact, pattern] of [
      ['issuer', 'issuerRegExp'],
      ['subject', 'subjectRegExp'],
    ] as const) {
      const regExp = identity[pattern];
      if (regExp !== undefined) {
        exported[pattern] = `^(?:${regExp})$`;
        if (/\(\?<?[=!]|\\[1-9]|\\k</.test(regExp)) {
          this.warnings.add(
            `identities.${name}.${pattern}: lookarounds and backreferences are JavaScript-only; Go's regular expressions (${this.warnings.tool}) reject them`,
          );
        }
      } else if (identity[exact] !== undefined) {
        exported[exact] = identity[exact] as string;
      }
    }
    return exported;
  }
}

function day(date: Date): string {
  return date.toISOString().replace(/T00:00:00\.000Z$/, '');
}
