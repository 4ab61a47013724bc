import { SignetError } from '@signet/core';
import { type Descriptor, digestTag, type ImageIndex, type ImageManifest, OCI_INDEX, OCI_MANIFEST } from './media-types';
import { type RegistryClient, type Repository, sha256 } from './registry-client';
import { addToSharedManifest } from './shared-manifest';

/*
 * Referrers: manifests whose `subject` is another manifest (signatures, attestations, SBOMs).
 * A registry with the referrers API lists them itself; on one without (Debian's registry 2.8,
 * GHCR), writers keep an OCI index at the tag sha256-<hex>, as the distribution spec 1.1 says.
 */

/** Where a digest's referrers were found. */
export type ReferrersSource = 'referrers-api' | 'fallback-tag';

export interface Referrers {
  source: ReferrersSource;
  descriptors: Descriptor[];
}

/** The referrers of a digest: through the API when the registry has it, else from the fallback index. */
export async function listReferrers(client: RegistryClient, repo: Repository, digest: string): Promise<Referrers> {
  const listed = await client.referrers(repo, digest);
  if (listed) return { source: 'referrers-api', descriptors: listed };
  const index = await client.manifest(repo, digestTag(digest));
  const manifests = index && Array.isArray((index.json as ImageIndex).manifests) ? (index.json as ImageIndex).manifests : [];
  return { source: 'fallback-tag', descriptors: manifests };
}

/**
 * Pushes a referrer manifest by digest (its blobs must be pushed first: registries refuse a
 * manifest naming a missing blob) and, on a registry without the referrers API, adds it to
 * the fallback index. Returns the referrer's descriptor.
 */
export async function pushReferrer(client: RegistryClient, repo: Repository, manifest: ImageManifest): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = await client.putManifest(repo, sha256(bytes), bytes, OCI_MANIFEST);
  const descriptor: Descriptor = { mediaType: OCI_MANIFEST, digest, size: bytes.length };
  if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
  if (manifest.annotations) descriptor.annotations = manifest.annotations;
  const subject = manifest.subject?.digest;
  if (!subject) throw new SignetError({ code: 'E_INTERNAL', message: 'a referrer without a subject' });
  // Only the API itself says whether the registry indexes referrers (see RegistryClient.referrers).
  if ((await client.referrers(repo, subject)) === undefined) await addToFallbackIndex(client, repo, subject, [descriptor]);
  return descriptor;
}

/**
 * Adds entries to the sha256-<hex> index, each with its artifactType and annotations (a
 * verifier filters on them; an entry without them is invisible to Kyverno and cosign),
 * keeping the entries of other writers (see addToSharedManifest).
 */
export async function addToFallbackIndex(client: RegistryClient, repo: Repository, subject: string, entries: Descriptor[]): Promise<void> {
  const tag = digestTag(subject);
  await addToSharedManifest(
    {
      name: `the referrers index ${repo.registry}/${repo.repository}:${tag}`,
      read: async () => {
        const current = await client.manifest(repo, tag);
        return current ? ((current.json as ImageIndex).manifests ?? []) : [];
      },
      write: async (manifests) => {
        const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
        await client.putManifest(repo, tag, Buffer.from(JSON.stringify(index)), OCI_INDEX);
      },
      key: (descriptor) => descriptor.digest,
    },
    entries,
  );
}
