import crypto from 'node:crypto';
import {
  algorithmInfo,
  createStatement,
  resolvePredicateType,
  type Signer,
  SignetError,
  type SignOptions,
  serializeBundle,
  signStatement,
} from '@signet/core';
import {
  ANNOTATION_BUNDLE_CONTENT,
  ANNOTATION_CREATED,
  ANNOTATION_LEGACY_SIGNATURE,
  ANNOTATION_PREDICATE_TYPE,
  COSIGN_SIGN_PREDICATE,
  type Descriptor,
  digestTag,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  type ImageManifest,
  LEGACY_SIGNATURE_TYPE,
  OCI_CONFIG,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_ARTIFACT,
  SIMPLE_SIGNING,
} from './media-types';
import { imageName } from './reference';
import { pushReferrer } from './referrers';
import { RegistryClient, type Repository } from './registry-client';
import { isIndex, platformManifests, type ResolvedImage, resolveImage } from './subject';

/** cosign v3's bundle referrer (default), cosign < 3's `.sig` simple signing, or both. */
export type SignatureFormat = 'bundle' | 'legacy' | 'both';
export const SIGNATURE_FORMATS: readonly SignatureFormat[] = ['bundle', 'legacy', 'both'];

export interface SignImageOptions {
  client?: RegistryClient;
  /** Accept a tag: resolve it once and sign the digest it names then. */
  resolve?: boolean;
  format?: SignatureFormat;
  /** For an index: sign each platform manifest too. */
  recursive?: boolean;
  /** How the signature is witnessed (Rekor, a TSA) and where keyless certificates come from. */
  signing?: SignOptions;
  /** Told the digest as soon as the reference is resolved, before anything is signed. */
  onResolved?: (pinned: string) => void;
}

/** One signature written to the registry. */
export interface ImageSignatureWritten {
  /** The manifest digest signed. */
  digest: string;
  format: 'bundle' | 'legacy';
  /** Where it is: the referrer manifest's digest, or the legacy tag. */
  location: string;
}

export interface SignedImage {
  /** REGISTRY/REPOSITORY@DIGEST of the image given. */
  reference: string;
  digest: string;
  signatures: ImageSignatureWritten[];
}

/**
 * Signs an image by digest the way cosign does, and attaches the signature in the registry:
 * by default a Sigstore bundle (a DSSE in-toto statement whose subject is the digest) pushed
 * as an OCI 1.1 referrer. Signing an index signs the index; `recursive` signs each platform
 * manifest too.
 */
export async function signImage(reference: string, signer: Signer, options: SignImageOptions = {}): Promise<SignedImage> {
  const client = options.client ?? new RegistryClient();
  const format = options.format ?? 'bundle';
  if (format !== 'bundle') assertLegacySigner(signer);
  const image = await resolveImage(client, reference, options.resolve ?? false);
  options.onResolved?.(image.pinned);
  const signatures: ImageSignatureWritten[] = [];
  for (const subject of subjectsOf(image, options.recursive ?? false)) {
    if (format !== 'legacy') {
      const bundle = await signStatement(statementFor(subject.digest, COSIGN_SIGN_PREDICATE, {}), signer, options.signing);
      const written = await attachBundle(client, image.reference, subject, serializeBundle(bundle), COSIGN_SIGN_PREDICATE);
      signatures.push({ digest: subject.digest, format: 'bundle', location: written.digest });
    }
    if (format !== 'bundle') {
      signatures.push({
        digest: subject.digest,
        format: 'legacy',
        location: await attachLegacySignature(client, image.reference, subject, signer),
      });
    }
  }
  return { reference: image.pinned, digest: image.digest, signatures };
}

export interface AttestImageOptions extends Omit<SignImageOptions, 'format'> {
  /** A predicate type URI, or a short name (cyclonedx, spdx, slsaprovenance, openvex, …). */
  predicateType: string;
  predicate: unknown;
}

/** Signs an in-toto statement about an image (an SBOM, provenance, VEX) and attaches it as a bundle referrer. */
export async function attestImage(reference: string, signer: Signer, options: AttestImageOptions): Promise<SignedImage> {
  const client = options.client ?? new RegistryClient();
  const predicateType = resolvePredicateType(options.predicateType);
  const image = await resolveImage(client, reference, options.resolve ?? false);
  options.onResolved?.(image.pinned);
  const signatures: ImageSignatureWritten[] = [];
  for (const subject of subjectsOf(image, options.recursive ?? false)) {
    const bundle = await signStatement(statementFor(subject.digest, predicateType, options.predicate), signer, options.signing);
    const written = await attachBundle(client, image.reference, subject, serializeBundle(bundle), predicateType);
    signatures.push({ digest: subject.digest, format: 'bundle', location: written.digest });
  }
  return { reference: image.pinned, digest: image.digest, signatures };
}

function subjectsOf(image: ResolvedImage, recursive: boolean): Descriptor[] {
  const platforms = recursive && isIndex(image.manifest) ? platformManifests(image.manifest) : [];
  return [image.descriptor, ...platforms.map(({ mediaType, digest, size }) => ({ mediaType, digest, size }))];
}

/** cosign's statement: the digest as the only subject, without a name. */
function statementFor(digest: string, predicateType: string, predicate: unknown) {
  return createStatement([{ digest: { sha256: digest.slice('sha256:'.length) } }], predicateType, predicate);
}

/** Pushes a bundle as cosign v3 does: empty config, one bundle layer, the image as subject, cosign's annotations. */
export async function attachBundle(
  client: RegistryClient,
  repo: Repository,
  subject: Descriptor,
  bundle: unknown,
  predicateType: string,
): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(bundle));
  await client.pushBlob(repo, EMPTY_CONFIG_BYTES);
  const layer = await client.pushBlob(repo, bytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGSTORE_BUNDLE_ARTIFACT,
    config: { ...EMPTY_CONFIG },
    layers: [{ mediaType: SIGSTORE_BUNDLE_ARTIFACT, digest: layer, size: bytes.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: {
      [ANNOTATION_CREATED]: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      [ANNOTATION_BUNDLE_CONTENT]: 'dsse-envelope',
      [ANNOTATION_PREDICATE_TYPE]: predicateType,
    },
  };
  return pushReferrer(client, repo, manifest);
}

/** cosign < 3 signs with SHA-256 over the payload; a verifier of that format expects nothing else. */
function assertLegacySigner(signer: Signer): void {
  if (signer.certificate) {
    throw new SignetError({
      code: 'E_USAGE',
      message: 'legacy .sig signatures are written with keys only; a keyless signature goes in a bundle (--format bundle)',
    });
  }
  const hash = algorithmInfo(signer.algorithm).hash;
  if (signer.algorithm !== 'ed25519' && hash !== 'sha256') {
    throw new SignetError({
      code: 'E_USAGE',
      message: `legacy .sig signatures use SHA-256, and this ${signer.algorithm} key signs with ${hash}; use --format bundle or a P-256 or RSA SHA-256 key`,
    });
  }
}

/** The simple-signing payload: which image (by digest) under which name. */
export function simpleSigningPayload(repo: Repository, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': imageName(repo) },
        image: { 'docker-manifest-digest': digest },
        type: LEGACY_SIGNATURE_TYPE,
      },
      optional: null,
    }),
  );
}

/**
 * Adds a simple-signing layer to the image's `sha256-<hex>.sig` manifest, keeping the layers
 * other signers put there; read back, like the referrers index, until the layer is listed.
 */
async function attachLegacySignature(client: RegistryClient, repo: Repository, subject: Descriptor, signer: Signer): Promise<string> {
  const payload = simpleSigningPayload(repo, subject.digest);
  const signature = Buffer.from(await signer.sign(payload)).toString('base64');
  const layer: Descriptor = {
    mediaType: SIMPLE_SIGNING,
    digest: await client.pushBlob(repo, payload),
    size: payload.length,
    annotations: { [ANNOTATION_LEGACY_SIGNATURE]: signature },
  };
  const tag = digestTag(subject.digest, '.sig');
  const same = (a: Descriptor) => a.digest === layer.digest && a.annotations?.[ANNOTATION_LEGACY_SIGNATURE] === signature;
  const seen: Descriptor[] = [];
  for (let round = 0; round < 20; round++) {
    const current = await client.manifest(repo, tag);
    const layers = current ? ((current.json as ImageManifest).layers ?? []) : [];
    for (const existing of layers) if (!seen.some((s) => s.digest === existing.digest && sameSignature(s, existing))) seen.push(existing);
    if (layers.some(same) && seen.every((s) => layers.some((l) => l.digest === s.digest && sameSignature(s, l)))) return tag;
    if (!seen.some(same)) seen.push(layer);
    const config = Buffer.from(
      JSON.stringify({
        architecture: '',
        created: '0001-01-01T00:00:00Z',
        history: [{ created: '0001-01-01T00:00:00Z' }],
        os: '',
        rootfs: { type: 'layers', diff_ids: seen.map((l) => l.digest) },
        config: {},
      }),
    );
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: await client.pushBlob(repo, config), size: config.length },
      layers: seen,
    };
    await client.putManifest(repo, tag, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
    await new Promise((resolve) => setTimeout(resolve, crypto.randomInt(20, 80) * Math.min(round + 1, 6)));
  }
  throw new SignetError({ code: 'E_PROVIDER', message: `${imageName(repo)}:${tag} kept losing signatures to other writers; try again` });
}

function sameSignature(a: Descriptor, b: Descriptor): boolean {
  return a.annotations?.[ANNOTATION_LEGACY_SIGNATURE] === b.annotations?.[ANNOTATION_LEGACY_SIGNATURE];
}
