import { SignetError } from '@signet/core';
import { type Descriptor, digestTag, type ImageIndex, type ImageManifest, INDEX_TYPES } from './media-types';
import { formatImageReference, type ImageReference, imageName, parseImageReference, targetOf } from './reference';
import { addToFallbackIndex, listReferrers } from './referrers';
import { type FetchedManifest, RegistryClient, type Repository } from './registry-client';
import { addToSharedManifest } from './shared-manifest';
import { signatureManifest } from './sign-image';
import { isIndex } from './subject';

export interface CopyImageOptions {
  client?: RegistryClient;
}

export interface CopiedImage {
  /** DESTINATION@DIGEST: the same digest as the source. */
  reference: string;
  digest: string;
  /** Manifests copied: the image's own, and its signatures, attestations and other referrers. */
  manifests: number;
  /** Referrers copied (bundle signatures, attestations, SBOMs), and legacy .sig/.att/.sbom tags. */
  referrers: number;
  legacyTags: number;
}

const LEGACY_SUFFIXES = ['.sig', '.att', '.sbom'];

/**
 * Copies an image with its signatures and attestations, byte for byte so every digest is
 * kept: the manifest (an index with every platform manifest), their blobs (mounted when both
 * are on one registry), each manifest's referrers with their blobs, and cosign's legacy
 * `.sig`, `.att` and `.sbom` tags. A mirror that copies only the image loses its signatures;
 * this is the copy a verifier can still check. The destination gets the tag of the source
 * unless it names its own; referrers are indexed there the way that registry needs.
 */
export async function copyImage(source: string, destination: string, options: CopyImageOptions = {}): Promise<CopiedImage> {
  const client = options.client ?? new RegistryClient();
  const from = parseImageReference(source);
  const to = parseImageReference(destination);
  const top = await client.manifest(from, targetOf(from));
  if (!top) throw new SignetError({ code: 'E_INPUT', message: `${formatImageReference(from)} does not exist on ${from.registry}` });
  if (to.digest && to.digest !== top.digest) {
    throw new SignetError({
      code: 'E_USAGE',
      message: `the destination names ${to.digest}, but ${source} is ${top.digest}; a copy keeps the digest`,
    });
  }
  const copier = new Copier(client, from, to);
  await copier.manifestTree(top);
  for (const digest of [...copier.copied]) await copier.attachments(digest);
  // The tag last, so that it never names a copy whose signatures are not there yet: the
  // destination's own tag, else the source's (a copy by digest stays untagged).
  const tag = to.tag ?? (to.digest ? undefined : (from.tag ?? (from.digest ? undefined : 'latest')));
  if (tag) await client.putManifest(to, tag, top.bytes, top.mediaType);
  return {
    reference: `${imageName(to)}@${top.digest}`,
    digest: top.digest,
    manifests: copier.copied.size,
    referrers: copier.referrers,
    legacyTags: copier.legacyTags,
  };
}

class Copier {
  readonly copied = new Set<string>();
  referrers = 0;
  legacyTags = 0;
  private readonly sameRegistry: boolean;

  constructor(
    private readonly client: RegistryClient,
    private readonly from: ImageReference,
    private readonly to: ImageReference,
  ) {
    this.sameRegistry = from.registry === to.registry;
  }

  /** A manifest's blobs, or an index's manifests, then the manifest itself by digest. */
  async manifestTree(manifest: FetchedManifest): Promise<void> {
    if (this.copied.has(manifest.digest)) return;
    if (isIndex(manifest)) {
      for (const child of (manifest.json as ImageIndex).manifests ?? []) {
        const fetched = await this.client.manifest(this.from, child.digest);
        if (!fetched) throw new SignetError({ code: 'E_INPUT', message: `${imageName(this.from)}@${child.digest} is listed but missing` });
        await this.manifestTree(fetched);
      }
    } else {
      const image = manifest.json as ImageManifest;
      for (const blob of [image.config, ...(image.layers ?? [])]) if (blob) await this.blob(blob);
    }
    await this.client.putManifest(this.to, manifest.digest, manifest.bytes, manifest.mediaType);
    this.copied.add(manifest.digest);
  }

  /** A digest's referrers (each a manifest tree of its own) and its legacy tags. */
  async attachments(digest: string): Promise<void> {
    const { descriptors } = await listReferrers(this.client, this.from, digest);
    const pushed: Descriptor[] = [];
    for (const descriptor of descriptors) {
      if (this.copied.has(descriptor.digest)) continue;
      const referrer = await this.client.manifest(this.from, descriptor.digest);
      if (!referrer) continue;
      await this.manifestTree(referrer);
      pushed.push(referrerDescriptor(referrer));
      this.referrers++;
    }
    if (pushed.length > 0 && (await this.client.referrers(this.to, digest)) === undefined) {
      await addToFallbackIndex(this.client, this.to, digest, pushed);
    }
    for (const suffix of LEGACY_SUFFIXES) {
      const tag = digestTag(digest, suffix);
      const legacy = await this.client.manifest(this.from, tag);
      if (!legacy || INDEX_TYPES.has(legacy.mediaType)) continue;
      const layers = (legacy.json as ImageManifest).layers ?? [];
      for (const blob of [(legacy.json as ImageManifest).config, ...layers]) if (blob) await this.blob(blob);
      // Byte for byte where the destination has none; merged with the signatures it has.
      if (await this.client.manifest(this.to, tag)) await addToSharedManifest(signatureManifest(this.client, this.to, tag), layers);
      else await this.client.putManifest(this.to, tag, legacy.bytes, legacy.mediaType);
      this.legacyTags++;
    }
  }

  private async blob(blob: Descriptor): Promise<void> {
    const to: Repository = this.to;
    if (await this.client.hasBlob(to, blob.digest)) return;
    if (this.sameRegistry && (await this.client.mountBlob(to, blob.digest, this.from.repository))) return;
    const response = await this.client.openBlob(this.from, blob.digest, blob.size);
    if (!response.body) throw new SignetError({ code: 'E_PROVIDER', message: `${this.from.registry} sent ${blob.digest} without a body` });
    await this.client.pushBlobStream(to, blob.digest, blob.size, response.body);
  }
}

/** A referrer's index entry made from the manifest itself, as the spec says (artifactType, else the config's type; its annotations). */
function referrerDescriptor(referrer: FetchedManifest): Descriptor {
  const manifest = referrer.json as ImageManifest;
  const descriptor: Descriptor = { mediaType: referrer.mediaType, digest: referrer.digest, size: referrer.size };
  const artifactType = manifest.artifactType ?? manifest.config?.mediaType;
  if (artifactType) descriptor.artifactType = artifactType;
  if (manifest.annotations) descriptor.annotations = manifest.annotations;
  return descriptor;
}
