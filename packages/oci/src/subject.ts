import { SignetError } from '@signet/core';
import { type Descriptor, type ImageIndex, INDEX_TYPES } from './media-types';
import { byDigest, formatImageReference, type ImageReference, parseImageReference, targetOf } from './reference';
import type { FetchedManifest, RegistryClient } from './registry-client';

/** An image pinned to a digest, with its manifest: what signing and verifying act on. */
export interface ResolvedImage {
  reference: ImageReference;
  /** REGISTRY/REPOSITORY@DIGEST */
  pinned: string;
  digest: string;
  manifest: FetchedManifest;
  descriptor: Descriptor;
}

/**
 * Reads the image a reference names. A reference by digest is used as it is (a tag beside the
 * digest is ignored, as Docker does); a tag is resolved once, and only when `allowTag` says so:
 * signing a tag signs whatever it points to next week.
 */
export async function resolveImage(client: RegistryClient, value: string, allowTag: boolean): Promise<ResolvedImage> {
  const reference = assertSignable(value, allowTag);
  const target = targetOf(reference);
  const manifest = await client.manifest(reference, target);
  if (!manifest) {
    throw new SignetError({ code: 'E_INPUT', message: `${formatImageReference(reference)} does not exist on ${reference.registry}` });
  }
  return {
    reference,
    pinned: byDigest(reference, manifest.digest),
    digest: manifest.digest,
    manifest,
    descriptor: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size },
  };
}

/** Parses a reference to sign: by digest, or a tag when resolving is allowed. */
export function assertSignable(value: string, allowTag: boolean): ImageReference {
  const reference = parseImageReference(value);
  if (!reference.digest && !allowTag) {
    throw new SignetError({
      code: 'E_USAGE',
      message: `${value} is a tag, which can be moved to another image; sign REPOSITORY@sha256:… or pass --resolve to resolve the tag once and sign that digest`,
    });
  }
  return reference;
}

export function isIndex(manifest: FetchedManifest): boolean {
  return INDEX_TYPES.has(manifest.mediaType) || Array.isArray((manifest.json as ImageIndex).manifests);
}

/**
 * The platform manifests an index lists: not nested indexes, nor the attestation manifests
 * BuildKit lists beside them (platform unknown/unknown, annotated as attestation-manifest).
 */
export function platformManifests(manifest: FetchedManifest): Descriptor[] {
  return ((manifest.json as ImageIndex).manifests ?? []).filter(
    (d) =>
      !INDEX_TYPES.has(d.mediaType) &&
      d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
      !(d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown'),
  );
}
