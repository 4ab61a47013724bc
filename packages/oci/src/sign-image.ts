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
import { addToSharedManifest, type SharedManifest } from './shared-manifest';
import { isIndex, platformManifests, type ResolvedImage, resolveImage } from './subject';

/** cosign v3's bundle referrer (default), cosign < 3's `.sig` simple signing, or both. */
export type SignatureFormat = 'bundle' | 'legacy' | 'both';

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
  if (format !== 'bundle') assertLegacySigner(signer, options.signing);
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
function assertLegacySigner(signer: Signer, signing: SignOptions = {}): void {
  if (signing.tlogUpload || signing.timestamp) {
    throw new SignetError({
      code: 'E_USAGE',
      message: 'Signet writes legacy .sig signatures without a log entry or timestamp; to have the signature logged, use --format bundle',
    });
  }
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
        identity: { 'docker-reference': dockerReference(repo) },
        image: { 'docker-manifest-digest': digest },
        type: LEGACY_SIGNATURE_TYPE,
      },
      optional: null,
    }),
  );
}

/**
 * cosign's legacy signature manifest at a `sha256-<hex>.sig` (or `.att`, `.sbom`) tag, as a
 * manifest several signers add layers to. A layer is its payload and its signature: two
 * signers of one image write the same payload.
 */
export function signatureManifest(client: RegistryClient, repo: Repository, tag: string): SharedManifest {
  return {
    name: `${imageName(repo)}:${tag}`,
    read: async () => {
      const current = await client.manifest(repo, tag);
      return current ? ((current.json as ImageManifest).layers ?? []) : [];
    },
    write: async (layers) => {
      // cosign's config for a signature image: its layers as the rootfs, nothing else.
      const config = Buffer.from(
        JSON.stringify({
          architecture: '',
          created: '0001-01-01T00:00:00Z',
          history: [{ created: '0001-01-01T00:00:00Z' }],
          os: '',
          rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
          config: {},
        }),
      );
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: await client.pushBlob(repo, config), size: config.length },
        layers,
      };
      await client.putManifest(repo, tag, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
    },
    key: (layer) => `${layer.digest} ${layer.annotations?.[ANNOTATION_LEGACY_SIGNATURE] ?? ''}`,
  };
}

/** The repository as cosign (go-containerregistry) names it: Docker Hub as index.docker.io. */
function dockerReference(repo: Repository): string {
  return repo.registry === 'docker.io' ? `index.docker.io/${repo.repository}` : imageName(repo);
}

/** Adds a simple-signing layer to the image's `sha256-<hex>.sig` manifest, keeping the layers other signers put there. */
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
  await addToSharedManifest(signatureManifest(client, repo, tag), [layer]);
  return tag;
}
