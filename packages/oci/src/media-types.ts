import { SignetError } from '@signet/core';

/** The media types and shapes of the OCI image spec v1.1 and of cosign's formats. */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** Every manifest type Signet reads; sent as the Accept list, since some registries answer 404 without it. */
export const MANIFEST_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST] as const;
export const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);

/** The empty JSON object `{}`, the config of an artifact manifest (image spec 1.1). */
export const EMPTY_CONFIG = {
  mediaType: OCI_EMPTY,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');

/** cosign v3: a Sigstore bundle as a referrer's artifact type and layer type. */
export const SIGSTORE_BUNDLE_ARTIFACT = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIGSTORE_BUNDLE_PREFIX = 'application/vnd.dev.sigstore.bundle';
/** The predicate cosign v3 signs an image with: "this digest is signed", nothing more. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** cosign's referrer annotations. */
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_BUNDLE_CONTENT = 'dev.sigstore.bundle.content';
export const ANNOTATION_PREDICATE_TYPE = 'dev.sigstore.bundle.predicateType';

/** cosign < 3: simple signing payloads in a `sha256-<hex>.sig` manifest. */
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const ANNOTATION_LEGACY_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_LEGACY_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const LEGACY_SIGNATURE_TYPE = 'cosign container image signature';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The fallback tag of the referrers of a digest (distribution spec 1.1), and cosign's legacy tags. */
export function digestTag(digest: string, suffix = ''): string {
  return `${digest.replace(':', '-')}${suffix}`;
}

/*
 * What a registry answers is the registry's word, and a compromised registry's: a manifest, an
 * index and each descriptor are checked for the shape the image spec gives them before any field
 * is read, so that a malformed one is refused as such (E_INPUT), never a crash.
 */

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): value is Record<string, string> =>
  isObject(value) && Object.values(value).every((v) => typeof v === 'string');

function malformed(what: string, why: string): SignetError {
  return new SignetError({ code: 'E_INPUT', message: `${what} is malformed: ${why}` });
}

/** A descriptor: a media type, a digest and a size, and optional artifact type, annotations and platform. */
function checkDescriptor(value: unknown, what: string): void {
  if (!isObject(value)) throw malformed(what, 'not an object');
  if (typeof value.mediaType !== 'string') throw malformed(what, 'no mediaType');
  if (typeof value.digest !== 'string' || !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/.test(value.digest)) {
    throw malformed(what, 'no valid digest');
  }
  if (value.size !== undefined && !(Number.isSafeInteger(value.size) && (value.size as number) >= 0))
    throw malformed(what, 'size is not a byte count');
  if (value.artifactType !== undefined && typeof value.artifactType !== 'string') throw malformed(what, 'artifactType is not a string');
  if (value.annotations !== undefined && !isStrings(value.annotations)) throw malformed(what, 'annotations are not strings');
}

function checkDescriptors(value: unknown, what: string): void {
  if (!Array.isArray(value)) throw malformed(what, 'not a list');
  value.forEach((descriptor, i) => checkDescriptor(descriptor, `${what}[${i}]`));
}

/** A manifest or an index as the registry sent it, refused when it is not shaped as one. */
export function checkedManifest(value: unknown, what: string): ImageManifest | ImageIndex {
  if (!isObject(value)) throw malformed(what, 'not a JSON object');
  if (value.mediaType !== undefined && typeof value.mediaType !== 'string') throw malformed(what, 'mediaType is not a string');
  if (value.artifactType !== undefined && typeof value.artifactType !== 'string') throw malformed(what, 'artifactType is not a string');
  if (value.annotations !== undefined && !isStrings(value.annotations)) throw malformed(what, 'annotations are not strings');
  if (value.manifests !== undefined) checkDescriptors(value.manifests, `${what}'s manifests`);
  if (value.layers !== undefined) checkDescriptors(value.layers, `${what}'s layers`);
  if (value.config !== undefined) checkDescriptor(value.config, `${what}'s config`);
  if (value.subject !== undefined) checkDescriptor(value.subject, `${what}'s subject`);
  return value as unknown as ImageManifest | ImageIndex;
}

/** A referrers list (an image index): its descriptors, refused when it is not one. */
export function checkedReferrers(value: unknown, what: string): Descriptor[] {
  if (!isObject(value)) throw malformed(what, 'not a JSON object');
  if (value.manifests === undefined) return [];
  checkDescriptors(value.manifests, `${what}'s manifests`);
  return value.manifests as Descriptor[];
}
