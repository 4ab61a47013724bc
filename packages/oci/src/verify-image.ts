import crypto from 'node:crypto';
import {
  createVerifier,
  type Policy,
  parseBundle,
  resolvePredicateType,
  SignetError,
  type SignetErrorCode,
  type Statement,
  type TrustedRoot,
  VERIFICATION_CODES,
  type Verified,
  type Verifier,
} from '@signet/core';
import {
  ANNOTATION_LEGACY_CERTIFICATE,
  ANNOTATION_LEGACY_SIGNATURE,
  ANNOTATION_PREDICATE_TYPE,
  COSIGN_SIGN_PREDICATE,
  type Descriptor,
  digestTag,
  type ImageManifest,
  INDEX_TYPES,
  LEGACY_SIGNATURE_TYPE,
  SIGSTORE_BUNDLE_PREFIX,
  SIMPLE_SIGNING,
} from './media-types';
import { parseImageReference } from './reference';
import { listReferrers, type ReferrersSource } from './referrers';
import { RegistryClient, type Repository } from './registry-client';
import { isIndex, platformManifests, type ResolvedImage, resolveImage } from './subject';

/** Bundles checked per digest, at most, and how many at once. */
const MAX_CANDIDATES = 64;
const CANDIDATES_AT_ONCE = 4;

export interface VerifyImageOptions {
  client?: RegistryClient;
  /** Trust for certificates, logs and timestamps; fetched only when a signature needs it. Without it: keys only. */
  trustedRoot?: TrustedRoot | (() => Promise<TrustedRoot>);
}

/** A signature that verified. */
export interface ImageSignature {
  format: 'bundle' | 'legacy';
  /** The referrer manifest's digest, or the legacy tag. */
  location: string;
  /** The digest the signature names: the image's, or that of the index listing it. */
  signedDigest: string;
  verified: Verified;
}

/** A candidate that did not verify, and why. */
export interface RejectedSignature {
  format: 'bundle' | 'legacy';
  location: string;
  code: SignetErrorCode;
  reason: string;
}

export interface VerifiedImage {
  /** REGISTRY/REPOSITORY@DIGEST */
  reference: string;
  digest: string;
  signatures: ImageSignature[];
  rejected: RejectedSignature[];
  /** Where referrers were looked up. */
  referrersSource: ReferrersSource;
}

export interface VerifiedAttestation extends VerifiedImage {
  statements: Statement[];
}

/**
 * Verifies an image's signatures under a policy. Finds cosign v3 bundle referrers (through
 * the referrers API or the sha256-<hex> index) and, when none verifies, cosign's legacy `.sig`
 * signatures (as cosign does), checks
 * each one's subject, types and statement against the digest, and returns those that verify.
 * Other tools' referrers are ignored. A platform manifest also counts as signed when the
 * index its tag names (REPO:TAG@DIGEST) is signed and lists it.
 *
 * Throws E_UNSIGNED when nothing claims to sign the image, or the first candidate's failure
 * (E_POLICY for an untrusted signer, E_SIGNATURE for a signature of another digest, …) when
 * nothing verifies; the message says what was found.
 */
export async function verifyImage(reference: string, policy: Policy, options: VerifyImageOptions = {}): Promise<VerifiedImage> {
  return verifyReferrers(reference, policy, COSIGN_SIGN_PREDICATE, options);
}

/** Verifies the attestations of one predicate type attached to an image; returns their statements. */
export async function verifyImageAttestation(
  reference: string,
  policy: Policy,
  predicateType: string,
  options: VerifyImageOptions = {},
): Promise<VerifiedAttestation> {
  const result = await verifyReferrers(reference, policy, resolvePredicateType(predicateType), options);
  return { ...result, statements: result.signatures.flatMap((s) => (s.verified.statement ? [s.verified.statement] : [])) };
}

async function verifyReferrers(
  reference: string,
  policy: Policy,
  predicateType: string,
  options: VerifyImageOptions,
): Promise<VerifiedImage> {
  const client = options.client ?? new RegistryClient();
  const given = parseImageReference(reference);
  const trustedRoot = lazyRoot(options.trustedRoot);
  const checked: Checked = {
    policy,
    predicateType,
    verifier: createVerifier({ policy: { ...policy, predicateTypes: [predicateType] }, trustedRoot }),
  };
  // Given a digest, its signatures are looked up while its manifest is read: one round trip
  // less. Should the manifest not exist, that error is the one reported.
  const early = given.digest ? candidatesFor(client, given, given.digest, checked) : undefined;
  early?.catch(() => undefined);
  const image = await resolveImage(client, reference, true);
  const found = await (early ?? candidatesFor(client, image.reference, image.digest, checked));
  // A platform manifest of a signed index: REPO:TAG@DIGEST names the index by its tag.
  const tag = given.digest ? given.tag : undefined;
  if (found.signatures.length === 0 && tag && !isIndex(image.manifest)) {
    const index = await client.manifest(image.reference, tag);
    if (index && index.digest !== image.digest && INDEX_TYPES.has(index.mediaType)) {
      const listed = platformManifests(index).some((d) => d.digest === image.digest);
      if (listed) {
        const viaIndex = await candidatesFor(client, image.reference, index.digest, checked);
        found.signatures.push(...viaIndex.signatures);
        found.rejected.push(...viaIndex.rejected);
        found.others.push(...viaIndex.others);
      }
    }
  }
  const result: VerifiedImage = {
    reference: image.pinned,
    digest: image.digest,
    signatures: found.signatures,
    rejected: found.rejected,
    referrersSource: found.source,
  };
  if (found.signatures.length > 0) return result;
  throw nothingVerified(image, predicateType, found);
}

interface Checked {
  policy: Policy;
  predicateType: string;
  /** The policy's verifier, accepting statements of predicateType only. */
  verifier: Verifier;
}

interface Found {
  source: ReferrersSource;
  signatures: ImageSignature[];
  rejected: RejectedSignature[];
  /** Referrers that are not Signet's concern: other artifact types, other predicate types. */
  others: string[];
}

/**
 * The signatures of one digest, in cosign's order: bundle referrers first, and cosign's legacy
 * `.sig` only when no bundle verifies. An image signed both ways costs no extra round trip; one
 * signed only the old way still verifies.
 */
async function candidatesFor(client: RegistryClient, repo: Repository, digest: string, checked: Checked): Promise<Found> {
  const referrers = await listReferrers(client, repo, digest);
  const found: Found = { source: referrers.source, signatures: [], rejected: [], others: [] };
  const bundles: Descriptor[] = [];
  for (const descriptor of referrers.descriptors) {
    const annotated = descriptor.annotations?.[ANNOTATION_PREDICATE_TYPE];
    if (!descriptor.artifactType?.startsWith(SIGSTORE_BUNDLE_PREFIX)) found.others.push(descriptor.artifactType ?? descriptor.mediaType);
    else if (annotated && annotated !== checked.predicateType) found.others.push(`a ${annotated} attestation`);
    else bundles.push(descriptor);
  }
  if (bundles.length > MAX_CANDIDATES) {
    found.others.push(`${bundles.length - MAX_CANDIDATES} more Sigstore bundles, beyond the ${MAX_CANDIDATES} checked`);
    bundles.length = MAX_CANDIDATES;
  }
  await checkAll(
    bundles.map((descriptor) => ({
      format: 'bundle' as const,
      location: descriptor.digest,
      check: () => checkBundleReferrer(client, repo, digest, descriptor, checked),
    })),
    found,
  );
  if (found.signatures.length > 0 || checked.predicateType !== COSIGN_SIGN_PREDICATE) return found;
  const legacy = await client.manifest(repo, digestTag(digest, '.sig'));
  const layers = legacy ? ((legacy.json as ImageManifest).layers ?? []).filter((l) => l.mediaType === SIMPLE_SIGNING) : [];
  await checkAll(
    layers.slice(0, MAX_CANDIDATES).map((layer, i) => {
      const location = `${digestTag(digest, '.sig')}#${i}`;
      return { format: 'legacy' as const, location, check: () => checkLegacySignature(client, repo, digest, layer, location, checked) };
    }),
    found,
  );
  return found;
}

/**
 * Checks candidates a few at a time (each may download up to the blob cap, and a registry
 * chooses how many it lists), keeping results in listing order so messages do not depend on
 * which answer came first.
 */
async function checkAll(
  candidates: { format: 'bundle' | 'legacy'; location: string; check: () => Promise<ImageSignature> }[],
  found: Found,
): Promise<void> {
  const results: (ImageSignature | RejectedSignature)[] = new Array(candidates.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < candidates.length; i = next++) {
      const candidate = candidates[i] as (typeof candidates)[number];
      try {
        results[i] = await candidate.check();
      } catch (error) {
        results[i] = rejection(candidate.format, candidate.location, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CANDIDATES_AT_ONCE, candidates.length) }, worker));
  for (const result of results) {
    if ('verified' in result) found.signatures.push(result);
    else found.rejected.push(result);
  }
}

/** A bundle referrer: its manifest, subject, single bundle layer and the bundle itself, then the signature. */
async function checkBundleReferrer(
  client: RegistryClient,
  repo: Repository,
  digest: string,
  descriptor: Descriptor,
  checked: Checked,
): Promise<ImageSignature> {
  const fetched = await client.manifest(repo, descriptor.digest);
  if (!fetched) throw new SignetError({ code: 'E_BUNDLE', message: `the referrer ${descriptor.digest} is listed but does not exist` });
  const manifest = fetched.json as ImageManifest;
  if (manifest.subject?.digest !== digest) {
    throw new SignetError({
      code: 'E_SIGNATURE',
      message: `the referrer's subject is ${manifest.subject?.digest ?? 'missing'}, not ${digest}`,
    });
  }
  if (!manifest.artifactType?.startsWith(SIGSTORE_BUNDLE_PREFIX)) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `the referrer's artifactType is ${manifest.artifactType ?? 'missing'}, not a Sigstore bundle`,
    });
  }
  const layers = (manifest.layers ?? []).filter((l) => l.mediaType?.startsWith(SIGSTORE_BUNDLE_PREFIX));
  if (layers.length !== 1 || !layers[0]) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `the referrer has ${layers.length} Sigstore bundle layers; exactly one is expected`,
    });
  }
  const bytes = await client.blob(repo, layers[0].digest, `the bundle of referrer ${descriptor.digest}`);
  const bundle = parseBundle(bytes.toString('utf8'), `the bundle of referrer ${descriptor.digest}`);
  if (!isBundleV03OrLater(bundle.mediaType)) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `the referrer holds a ${bundle.mediaType} bundle; image signatures are bundles v0.3 or later`,
    });
  }
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: 'the referrer holds a message signature; an image is signed with a statement naming its digest',
    });
  }
  const verified = await checked.verifier.verify(bundle, digestArtifact(digest));
  return { format: 'bundle', location: descriptor.digest, signedDigest: digest, verified };
}

/**
 * A legacy simple-signing layer: the payload must name this digest; its signature (over the
 * payload bytes, SHA-256) is checked as a message signature against the policy's keys.
 */
async function checkLegacySignature(
  client: RegistryClient,
  repo: Repository,
  digest: string,
  layer: Descriptor,
  location: string,
  checked: Checked,
): Promise<ImageSignature> {
  const payload = await client.blob(repo, layer.digest, `the signature payload ${location}`);
  let claims: { critical?: { image?: { 'docker-manifest-digest'?: string }; type?: string } };
  try {
    claims = JSON.parse(payload.toString('utf8'));
  } catch (cause) {
    throw new SignetError({ code: 'E_BUNDLE', message: 'the simple-signing payload is not JSON', cause });
  }
  if (claims.critical?.type !== LEGACY_SIGNATURE_TYPE) {
    throw new SignetError({
      code: 'E_BUNDLE',
      message: `the payload's type is ${claims.critical?.type ?? 'missing'}, not "${LEGACY_SIGNATURE_TYPE}"`,
    });
  }
  const named = claims.critical.image?.['docker-manifest-digest'];
  if (named !== digest)
    throw new SignetError({ code: 'E_SIGNATURE', message: `the signature is for ${named ?? 'no digest'}, not ${digest}` });
  const signature = layer.annotations?.[ANNOTATION_LEGACY_SIGNATURE];
  if (!signature) throw new SignetError({ code: 'E_BUNDLE', message: 'the layer has no signature annotation' });
  if (layer.annotations?.[ANNOTATION_LEGACY_CERTIFICATE] && !checked.policy.keys?.length) {
    throw new SignetError({
      code: 'E_POLICY',
      message:
        'a legacy keyless signature (certificate and Rekor bundle annotations); Signet verifies keyless image signatures in bundles only',
    });
  }
  const bundle = parseBundle({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: crypto.createHash('sha256').update(payload).digest('base64') },
      signature,
    },
  });
  if ((checked.policy.tlogThreshold ?? 0) > 0) {
    throw new SignetError({
      code: 'E_TLOG',
      message:
        'a legacy .sig signature is checked without a transparency-log entry (Signet does not read its Rekor annotation); a rule that requires one needs bundle signatures',
    });
  }
  // The simple-signing payload is the release claim itself, signed as a message by a key, under
  // the policy's thresholds (a required timestamp, which a legacy signature cannot carry, refuses it).
  const verified = await createVerifier({ policy: { ...checked.policy, predicateTypes: undefined } }).verify(bundle, { bytes: payload });
  return { format: 'legacy', location, signedDigest: digest, verified };
}

/** `application/vnd.dev.sigstore.bundle.v0.3+json` or later (`…bundle+json;version=0.3` is the older spelling of 0.3). */
function isBundleV03OrLater(mediaType: string): boolean {
  const match = /^application\/vnd\.dev\.sigstore\.bundle(?:\.v(\d+)\.(\d+)\+json|\+json;version=(\d+)\.(\d+))$/.exec(mediaType);
  if (!match) return false;
  const major = Number(match[1] ?? match[3]);
  const minor = Number(match[2] ?? match[4]);
  return major > 0 || minor >= 3;
}

function digestArtifact(digest: string) {
  return { digest: { algorithm: 'sha256' as const, value: Buffer.from(digest.slice('sha256:'.length), 'hex') } };
}

function lazyRoot(root: VerifyImageOptions['trustedRoot']): (() => Promise<TrustedRoot>) | TrustedRoot | undefined {
  if (typeof root !== 'function') return root;
  let loaded: Promise<TrustedRoot> | undefined;
  return () => {
    loaded ??= root();
    return loaded;
  };
}

function rejection(format: 'bundle' | 'legacy', location: string, error: unknown): RejectedSignature {
  const failure =
    error instanceof SignetError
      ? error
      : new SignetError({ code: 'E_INTERNAL', message: String((error as Error)?.message ?? error), cause: error });
  return { format, location, code: failure.code, reason: failure.message.replace(/\s*\n\s*/g, ' ') };
}

/** The error when nothing verified: what was looked at and what was found. */
function nothingVerified(image: ResolvedImage, predicateType: string, found: Found): SignetError {
  const what = predicateType === COSIGN_SIGN_PREDICATE ? 'signature' : `${predicateType} attestation`;
  const ignored =
    found.others.length > 0
      ? `; ignored ${found.others.length} other referrer${found.others.length > 1 ? 's' : ''} (${[...new Set(found.others)].join(', ')})`
      : '';
  const [first, ...more] = found.rejected;
  if (!first) {
    const where = found.source === 'referrers-api' ? 'the referrers API' : `the referrers index ${digestTag(image.digest)}`;
    return new SignetError({
      code: 'E_UNSIGNED',
      message: `no ${what} for ${image.pinned} (looked in ${where}${predicateType === COSIGN_SIGN_PREDICATE ? ` and ${digestTag(image.digest, '.sig')}` : ''})${ignored}`,
    });
  }
  // The most telling failure names the outcome; every candidate that failed is counted.
  const telling = [...found.rejected].sort((a, b) => precedence(a.code) - precedence(b.code))[0] as RejectedSignature;
  const others =
    more.length > 0
      ? ` (and ${more.length} more: ${found.rejected
          .filter((r) => r !== telling)
          .map((r) => r.code)
          .join(', ')})`
      : '';
  return new SignetError({
    code: outcomeCode(telling.code),
    message: `no ${what} of ${image.pinned} verifies: ${telling.location}: ${telling.reason}${others}${ignored}`,
  });
}

/** Signature failures first (an untrusted signer says most), then trust checks, then what could not be read. */
const PRECEDENCE: SignetErrorCode[] = ['E_POLICY', 'E_SIGNATURE', 'E_CERTIFICATE', 'E_TLOG', 'E_TIMESTAMP', 'E_PROVIDER', 'E_PERMISSION'];

function precedence(code: SignetErrorCode): number {
  const rank = PRECEDENCE.indexOf(code);
  return rank < 0 ? PRECEDENCE.length : rank;
}

/**
 * Something claimed to sign the image and nothing verified: a verification failure (exit 1),
 * also when the claim was malformed; only a registry that could not be read is exit 3.
 */
function outcomeCode(code: SignetErrorCode): SignetErrorCode {
  return VERIFICATION_CODES.has(code) || code === 'E_PROVIDER' || code === 'E_PERMISSION' ? code : 'E_SIGNATURE';
}
