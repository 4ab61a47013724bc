// The deploy gate itself: each artifact checked against the rule that covers it (see gate-policy.ts).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HashAlgorithm as ProtoHashAlgorithm } from '@sigstore/protobuf-specs';
import picomatch from 'picomatch';
import type { HashAlgorithm } from './algorithms';
import { DEFAULT_MANIFEST_PATH, DirectoryMismatchError, verifyDirectory } from './build-manifest';
import { type Bundle, readBundle } from './bundle-io';
import { inputError, readRegularFile } from './digest';
import { SignetError, type SignetErrorCode } from './errors';
import { DigestPool, type Digests, type Hashed, SMALL_FILE } from './gate-digests';
import type { ArtifactKind, GateOptions, GatePolicy, GateRule, GateVerdict } from './gate-policy';
import { signerName, signersPolicy } from './gate-rules';
import type { AcceptedContent } from './policy';
import { INTOTO_PAYLOAD_TYPE, NPM_RELEASE_PREDICATE_TYPE, parseStatement, predicateTypeName, type Statement } from './statement';
import { loadTrustedRoot, type TrustedRoot } from './trusted-root';
import { type Artifact, createVerifier, type Verified, type Verifier } from './verify';

/**
 * Checks each artifact against the first rule that covers it, several at a time, and returns
 * one verdict per artifact, in order. Throws only for usage errors and for a trusted root that
 * a bundle needs and that cannot be loaded.
 */
export async function gate(artifacts: readonly string[], policy: GatePolicy, options: GateOptions = {}): Promise<GateVerdict[]> {
  if (artifacts.length === 0) throw new SignetError({ code: 'E_USAGE', message: 'give the artifacts to check' });
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2 * os.availableParallelism()));
  const run = new GateRun(policy, options, concurrency);
  try {
    return await mapLimited(artifacts, concurrency, (artifact) => run.check(artifact));
  } finally {
    await run.close();
  }
}

/** Thrown through a check to abort the whole gate (the trusted root could not be loaded). */
class GateAbort extends Error {}

type Shape = { folder: true } | { folder: false; size: number };

/** What a check learned before it passed or failed, so a failure still says who signed. */
interface Progress {
  signer?: string;
  attestations: NonNullable<GateVerdict['attestations']>;
}

/** A verified signature, with the name of the policy signer it matched. */
interface Signed {
  verified: Verified;
  signer: string;
  display: string;
}

interface Candidate {
  file: string;
  bundle: Bundle;
  predicateType: string;
  algorithms: HashAlgorithm[];
}

class GateRun {
  private readonly matchers: ((name: string) => boolean)[];
  private readonly digests: DigestPool;
  private trustedRoot?: Promise<TrustedRoot>;
  private readonly listings = new Map<string, Promise<string[]>>();
  /** One verifier per rule, signers and accepted content: each resolves its keys once. */
  private readonly verifiers = new Map<string, Verifier>();

  constructor(
    private readonly policy: GatePolicy,
    private readonly options: GateOptions,
    concurrency: number,
  ) {
    this.matchers = policy.rules.map((rule) => (rule.match ? globMatcher(rule.match) : () => true));
    this.digests = new DigestPool(Math.min(concurrency, os.availableParallelism()));
  }

  close(): Promise<void> {
    return this.digests.close();
  }

  async check(artifact: string): Promise<GateVerdict> {
    let kind: ArtifactKind | undefined;
    let rule: number | undefined;
    const progress: Progress = { attestations: [] };
    // Fields in reading order, the unknown ones left out.
    const verdict = (ok: boolean, reason: string, code?: SignetErrorCode): GateVerdict => {
      const attestations = progress.attestations.length > 0 ? progress.attestations : undefined;
      const fields = { artifact, kind, rule, ok, signer: progress.signer, reason, code, attestations };
      return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as unknown as GateVerdict;
    };
    try {
      const shape = await shapeOf(artifact);
      kind = inferKind(artifact, shape);
      const covering = this.ruleFor(artifact, shape, kind);
      if (!covering) throw new SignetError({ code: 'E_POLICY', message: 'no rule covers it' });
      kind = covering.kind;
      rule = covering.index;
      return verdict(true, await this.checkAs(covering.kind, artifact, shape, covering.index, progress));
    } catch (error) {
      if (error instanceof GateAbort) throw error.cause;
      const failure =
        error instanceof SignetError
          ? error
          : new SignetError({
              code: 'E_INTERNAL',
              message: `unexpected error: ${(error as Error)?.message ?? String(error)}`,
              cause: error,
            });
      return verdict(false, failure.message.replace(/\s*\n\s*/g, ' '), failure.code);
    }
  }

  /** The first rule whose kind and match fit (see the policy's documentation in docs/gate.md). */
  private ruleFor(artifact: string, shape: Shape, inferred: ArtifactKind): { index: number; kind: ArtifactKind } | undefined {
    const name = matchName(artifact);
    for (const [index, rule] of this.policy.rules.entries()) {
      if (rule.kind === 'image' || (rule.match && !this.matchers[index]?.(name))) continue;
      if (!rule.kind) return { index, kind: inferred };
      // A rule's kind overrides the inferred one for the paths it matches (a Lambda package
      // named .jar), as far as the artifact's shape allows; without match, it takes its kind.
      if (rule.match ? (rule.kind === 'web') === shape.folder : rule.kind === inferred) return { index, kind: rule.kind };
    }
    return undefined;
  }

  private checkAs(kind: ArtifactKind, artifact: string, shape: Shape, index: number, progress: Progress): Promise<string> {
    if (kind === 'web') return this.checkWeb(artifact, index, progress);
    if (kind === 'attestation') return this.checkAttestation(artifact, index, progress);
    return this.checkFile(kind, artifact, (shape as { size: number }).size, index, progress);
  }

  /** A file with ARTIFACT.sigstore.json beside it: a message signature, or a release statement naming it. */
  private async checkFile(kind: ArtifactKind, artifact: string, size: number, index: number, progress: Progress): Promise<string> {
    const rule = this.rule(index);
    const bundlePath = `${artifact}.sigstore.json`;
    const bundle = await readSignature(bundlePath);
    // An npm tarball is released by a statement naming pkg:npm/NAME@VERSION (signet npm publish).
    const accepted = kind === 'npm-tarball' ? [NPM_RELEASE_PREDICATE_TYPE] : undefined;
    if (accepted && bundle.content.$case !== 'dsseEnvelope') {
      throw new SignetError({
        code: 'E_POLICY',
        message: `${bundlePath} is a plain signature; an npm tarball is signed as a statement naming pkg:npm/NAME@VERSION (signet npm publish)`,
      });
    }
    const candidates = rule.attestations.length > 0 ? await this.candidates(artifact) : [];
    const algorithms = [...new Set([...algorithmsOf(bundle), ...candidates.flatMap((c) => c.algorithms)])];
    const hashed = await this.digest(artifact, size, algorithms);
    assertShape(kind, artifact, hashed.head);

    const artifactRef = artifactFor(bundle, artifact, hashed, rule.signers, this.policy);
    const signed = await this.verify(bundle, artifactRef, index, rule.signers, bundlePath, accepted);
    progress.signer = signed.display;
    const reasons = [describeSignature(kind, signed.verified, hashed.digests)];
    await this.checkAttestations(index, candidates, { file: artifact, hashed, beside: artifact }, signed, progress, reasons);
    return reasons.join('; ');
  }

  /** A folder: verifyDirectory against its signed manifest. */
  private async checkWeb(dir: string, index: number, progress: Progress): Promise<string> {
    const rule = this.rule(index);
    const manifest = path.join(dir, DEFAULT_MANIFEST_PATH);
    await readSignature(manifest);
    const candidates = rule.attestations.length > 0 ? await this.candidates(dir) : [];
    let folder: Awaited<ReturnType<typeof verifyDirectory>>;
    try {
      folder = await verifyDirectory(dir, signersPolicy(this.policy, rule.signers, rule.tlog), {
        trustedRoot: () => this.loadTrustedRoot(),
      });
    } catch (error) {
      if (error instanceof DirectoryMismatchError) progress.signer = this.named(error.verified, rule.signers).display;
      throw error;
    }
    const signed = this.named(folder.verified, rule.signers);
    progress.signer = signed.display;
    const reasons = [
      `${folder.files} ${folder.files === 1 ? 'file matches' : 'files match'} the signed manifest${signed.verified.tlogEntries > 0 ? ', logged' : ''}`,
    ];
    // Attestations about a folder are about its signed manifest: that file is the build's identity.
    const algorithms = [...new Set(candidates.flatMap((c) => c.algorithms))];
    const hashed = algorithms.length > 0 ? await this.digest(manifest, 1, algorithms) : { digests: {}, head: Buffer.alloc(0) };
    await this.checkAttestations(index, candidates, { file: manifest, hashed, beside: dir }, signed, progress, reasons);
    return reasons.join('; ');
  }

  /** An attestation bundle itself: its signer and its predicate type. */
  private async checkAttestation(file: string, index: number, progress: Progress): Promise<string> {
    const rule = this.rule(index);
    if (rule.attestations.length > 0) {
      throw new SignetError({
        code: 'E_POLICY',
        message: `rules[${index}] requires attestations beside the artifact, and an attestation has none; give attestations a rule of their own (kind: attestation)`,
      });
    }
    const bundle = await readBundle(file);
    if (bundle.content.$case !== 'dsseEnvelope') {
      throw new SignetError({ code: 'E_POLICY', message: `${file} is a plain signature, not an attestation (a signed in-toto statement)` });
    }
    const verified = await this.verifier(index, rule.signers, rule.predicateTypes ?? []).verifyStatement(bundle);
    const signed = this.named(verified, rule.signers);
    progress.signer = signed.display;
    const subjects = verified.statement.subject.map((s) => s.name ?? '(unnamed)');
    return `${predicateTypeName(verified.statement.predicateType)} about ${subjects.slice(0, 3).join(', ')}${subjects.length > 3 ? ` and ${subjects.length - 3} more` : ''}${verified.tlogEntries > 0 ? ', logged' : ''}`;
  }

  /**
   * Each required attestation: the artifact's own signed statement when it is of that type by
   * one of those signers, else a bundle beside it, about it, of that type, by one of them.
   */
  private async checkAttestations(
    index: number,
    candidates: Candidate[],
    subject: { file: string; hashed: Hashed; beside: string },
    own: Signed,
    progress: Progress,
    reasons: string[],
  ): Promise<void> {
    for (const required of this.rule(index).attestations) {
      const name = predicateTypeName(required.predicateType);
      if (own.verified.statement?.predicateType === required.predicateType && required.signers.includes(own.signer)) {
        progress.attestations.push({ predicateType: required.predicateType, bundle: '(its own signature)', signer: own.display });
        reasons.push(`${name} by ${own.display}`);
        continue;
      }
      const typed = candidates.filter((c) => c.predicateType === required.predicateType);
      if (typed.length === 0) {
        const others = [...new Set(candidates.map((c) => predicateTypeName(c.predicateType)))];
        throw new SignetError({
          code: 'E_POLICY',
          message: `no ${name} attestation beside it (${path.basename(subject.beside)}.*.sigstore.json)${others.length ? `; found ${others.join(', ')}` : ''}`,
        });
      }
      let firstError: { candidate: Candidate; error: SignetError } | undefined;
      for (const candidate of typed) {
        try {
          const artifact = artifactFor(candidate.bundle, subject.file, subject.hashed, required.signers, this.policy);
          const signed = await this.verify(candidate.bundle, artifact, index, required.signers, candidate.file, [required.predicateType]);
          progress.attestations.push({ predicateType: required.predicateType, bundle: candidate.file, signer: signed.display });
          reasons.push(`${name} by ${signed.display}`);
          firstError = undefined;
          break;
        } catch (error) {
          if (error instanceof GateAbort) throw error;
          const failure =
            error instanceof SignetError ? error : new SignetError({ code: 'E_INTERNAL', message: String(error), cause: error });
          firstError ??= { candidate, error: failure };
        }
      }
      if (firstError) {
        const { candidate, error } = firstError;
        const message = error.message.startsWith(candidate.file) ? error.message : `${candidate.file}: ${error.message}`;
        throw new SignetError({ code: error.code, message: `the ${name} attestation ${message}`, cause: error });
      }
    }
  }

  /**
   * The attestation bundles beside an artifact: ARTIFACT.<anything>.sigstore.json holding a
   * signed statement. Their signatures are checked later, only against what is required.
   */
  private async candidates(artifact: string): Promise<Candidate[]> {
    const dir = path.dirname(artifact);
    const base = path.basename(artifact);
    let listing = this.listings.get(dir);
    if (!listing) {
      listing = fs.readdir(dir).catch(() => []);
      this.listings.set(dir, listing);
    }
    const names = (await listing).filter((n) => n.startsWith(`${base}.`) && n.endsWith('.sigstore.json') && n !== `${base}.sigstore.json`);
    const found = await Promise.all(
      names.sort().map(async (name): Promise<Candidate | undefined> => {
        const file = path.join(dir, name);
        const bundle = await readBundle(file).catch(() => undefined);
        if (bundle?.content.$case !== 'dsseEnvelope' || bundle.content.dsseEnvelope.payloadType !== INTOTO_PAYLOAD_TYPE) return undefined;
        let statement: Statement;
        try {
          statement = parseStatement(bundle.content.dsseEnvelope.payload);
        } catch {
          return undefined;
        }
        return { file, bundle, predicateType: statement.predicateType, algorithms: statementAlgorithms(statement) };
      }),
    );
    return found.filter((c): c is Candidate => c !== undefined);
  }

  /** The rule's verifier for these signers and this content: the result says which signer signed. */
  private async verify(
    bundle: Bundle,
    artifact: Artifact,
    index: number,
    signers: string[],
    what: string,
    accepted?: AcceptedContent,
  ): Promise<Signed> {
    try {
      return this.named(await this.verifier(index, signers, accepted).verify(bundle, artifact), signers);
    } catch (error) {
      // The verdict names the bundle that failed: an artifact can have several beside it.
      if (error instanceof SignetError) throw new SignetError({ code: error.code, message: `${what}: ${error.message}`, cause: error });
      throw error;
    }
  }

  private verifier(index: number, signers: string[], accepted?: AcceptedContent): Verifier {
    const key = JSON.stringify([index, signers, accepted ?? null]);
    let verifier = this.verifiers.get(key);
    if (!verifier) {
      const policy = { ...signersPolicy(this.policy, signers, this.rule(index).tlog), predicateTypes: accepted };
      verifier = createVerifier({ policy, trustedRoot: () => this.loadTrustedRoot() });
      this.verifiers.set(key, verifier);
    }
    return verifier;
  }

  /** The policy signer a verified signature matched, and how to show it. */
  private named(verified: Verified, signers: string[]): Signed {
    const { name, display } = signerName(this.policy, verified.signer, signers);
    return { verified, signer: name, display };
  }

  private rule(index: number): GateRule {
    return this.policy.rules[index] as GateRule;
  }

  /** The trusted root, loaded once, when a verifier first needs it; a failure aborts the whole gate. */
  private async loadTrustedRoot(): Promise<TrustedRoot> {
    this.trustedRoot ??= (this.options.trustedRoot ?? (() => loadTrustedRoot()))();
    try {
      return await this.trustedRoot;
    } catch (cause) {
      throw new GateAbort('the trusted root could not be loaded', { cause });
    }
  }

  /** Small files are hashed here; larger ones on the worker threads, several at once. */
  private async digest(file: string, size: number, algorithms: HashAlgorithm[]): Promise<Hashed> {
    if (size <= SMALL_FILE) {
      const bytes = await readRegularFile(file);
      const digests: Digests = {};
      for (const algorithm of algorithms) digests[algorithm] = crypto.createHash(algorithm).update(bytes).digest();
      return { digests, head: bytes.subarray(0, 4), bytes };
    }
    return this.digests.digest(file, algorithms);
  }
}

async function shapeOf(artifact: string): Promise<Shape> {
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(artifact);
  } catch (cause) {
    throw inputError(artifact, cause);
  }
  if (stat.isDirectory()) return { folder: true };
  if (!stat.isFile()) throw new SignetError({ code: 'E_INPUT', message: `${artifact} is not a file or a folder` });
  if (stat.size === 0) throw new SignetError({ code: 'E_INPUT', message: `${artifact} is empty` });
  return { folder: false, size: stat.size };
}

function inferKind(artifact: string, shape: Shape): ArtifactKind {
  if (shape.folder) return 'web';
  const name = artifact.toLowerCase();
  if (name.endsWith('.sigstore.json')) return 'attestation';
  if (name.endsWith('.zip')) return 'lambda-zip';
  if (name.endsWith('.tgz')) return 'npm-tarball';
  return 'file';
}

/** The artifact path as globs see it: posix separators, no leading ./, no trailing slash. */
function matchName(artifact: string): string {
  let name = artifact.replaceAll('\\', '/');
  while (name.startsWith('./')) name = name.slice(2);
  while (name.length > 1 && name.endsWith('/')) name = name.slice(0, -1);
  return name;
}

/** Globs over the artifact path; one without a slash matches the file name in any folder, as in .gitignore. */
function globMatcher(patterns: string[]): (name: string) => boolean {
  const paths = patterns.filter((p) => p.includes('/'));
  const names = patterns.filter((p) => !p.includes('/'));
  const byPath = paths.length > 0 ? picomatch(paths, { dot: true }) : () => false;
  const byName = names.length > 0 ? picomatch(names, { dot: true }) : () => false;
  return (name) => byPath(name) || byName(path.posix.basename(name));
}

/** A missing signature bundle said as such. */
async function readSignature(bundlePath: string): Promise<Bundle> {
  try {
    return await readBundle(bundlePath);
  } catch (error) {
    if (error instanceof SignetError && error.code === 'E_INPUT' && (error.cause as NodeJS.ErrnoException)?.code === 'ENOENT') {
      throw new SignetError({ code: 'E_SIGNATURE', message: `not signed: ${bundlePath} does not exist`, cause: error });
    }
    throw error;
  }
}

/** A Lambda zip is a zip and an npm tarball is gzip: a cheap check that the rule's kind is what was given. */
function assertShape(kind: ArtifactKind, artifact: string, head: Buffer): void {
  const zip = head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (kind === 'lambda-zip' && !zip) throw new SignetError({ code: 'E_INPUT', message: `${artifact} is not a zip file` });
  if (kind === 'npm-tarball' && !gzip) throw new SignetError({ code: 'E_INPUT', message: `${artifact} is not a gzipped tarball` });
}

const PROTO_HASHES: Partial<Record<ProtoHashAlgorithm, HashAlgorithm>> = {
  [ProtoHashAlgorithm.SHA2_256]: 'sha256',
  [ProtoHashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256',
  [ProtoHashAlgorithm.SHA2_384]: 'sha384',
  [ProtoHashAlgorithm.SHA2_512]: 'sha512',
};

/** The digests a bundle is checked with: its message digest's, or those its statement's subjects carry. */
function algorithmsOf(bundle: Bundle): HashAlgorithm[] {
  if (bundle.content.$case === 'messageSignature') {
    return [PROTO_HASHES[bundle.content.messageSignature.messageDigest.algorithm] ?? 'sha256'];
  }
  try {
    return statementAlgorithms(parseStatement(bundle.content.dsseEnvelope.payload));
  } catch {
    // verifyBundle reports what is wrong with the statement.
    return ['sha256'];
  }
}

function statementAlgorithms(statement: Statement): HashAlgorithm[] {
  const found = (['sha256', 'sha512', 'sha384'] as const).filter((algorithm) => statement.subject.some((s) => s.digest[algorithm]));
  return found.length > 0 ? found : ['sha256'];
}

/**
 * The artifact as verifyBundle takes it: the digest already computed, except for a message
 * signature over a small file, whose bytes OpenSSL hashes and verifies in one call (an ECDSA
 * signature over a digest is checked in JavaScript, ~3 ms), and one a key makes over the whole
 * message (Ed25519), which needs the file.
 */
function artifactFor(bundle: Bundle, file: string, hashed: Hashed, signers: string[], policy: GatePolicy): Artifact {
  if (bundle.content.$case === 'messageSignature' && hashed.bytes) return { bytes: hashed.bytes };
  // verifyBundle takes one digest; a statement whose subjects use several hashes gets the file.
  const algorithms = algorithmsOf(bundle);
  const [algorithm] = algorithms;
  const value = algorithm ? hashed.digests[algorithm] : undefined;
  if (
    !algorithm ||
    !value ||
    algorithms.length > 1 ||
    (bundle.content.$case === 'messageSignature' && signsWholeMessage(bundle, signers, policy))
  ) {
    return { path: file };
  }
  return { digest: { algorithm, value } };
}

function signsWholeMessage(bundle: Bundle, signers: string[], policy: GatePolicy): boolean {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'publicKey') {
    return signers.some((name) => {
      const key = policy.keys.get(name)?.publicKey;
      return typeof key === 'object' && key.asymmetricKeyType === 'ed25519';
    });
  }
  const raw = material.$case === 'certificate' ? material.certificate.rawBytes : material.x509CertificateChain.certificates[0]?.rawBytes;
  try {
    return raw !== undefined && new crypto.X509Certificate(raw).publicKey.asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

function describeSignature(kind: ArtifactKind, verified: Verified, digests: Digests): string {
  const logged = verified.tlogEntries > 0 ? ', logged' : '';
  const statement = verified.statement;
  if (!statement) return `signature verified (${Object.keys(digests).join(', ')})${logged}`;
  if (kind === 'npm-tarball') {
    const name = verified.subject?.name ?? '';
    if (!name.startsWith('pkg:npm/')) {
      throw new SignetError({
        code: 'E_POLICY',
        message: `the signed statement names ${name || 'no package'}, not an npm package (pkg:npm/NAME@VERSION); sign tarballs with signet npm publish`,
      });
    }
    return `${percentDecoded(name)}${logged}`;
  }
  return `named by a signed ${predicateTypeName(statement.predicateType)} statement${logged}`;
}

function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
