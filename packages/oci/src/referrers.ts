import { setTimeout as sleep } from 'node:timers/promises';
import { SignetError } from '@signet/core';
import { type Descriptor, digestTag, type ImageIndex, type ImageManifest, OCI_INDEX, OCI_MANIFEST } from './media-types';
import { type RegistryClient, type Repository, sha256 } from './registry-client';

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
  const { digest } = await client.putManifest(repo, sha256(bytes), bytes, OCI_MANIFEST);
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
 * verifier filters on them; an entry without them is invisible to Kyverno and cosign).
 *
 * Registries ignore If-Match, so two writers can each read the index, add their entry and
 * write: the second write drops the first entry. Each writer therefore reads the index back
 * after writing, keeps every entry it has ever seen, and writes again until its entries are
 * there; then it waits a moment and checks once more, for a writer whose read came before
 * its write and whose write came after its check.
 */
export async function addToFallbackIndex(client: RegistryClient, repo: Repository, subject: string, entries: Descriptor[]): Promise<void> {
  const tag = digestTag(subject);
  const seen = new Map<string, Descriptor>();
  let confirmations = 0;
  for (let round = 0; round < 20; round++) {
    const current = await client.manifest(repo, tag);
    const listed = current ? ((current.json as ImageIndex).manifests ?? []) : [];
    for (const entry of listed) if (!seen.has(entry.digest)) seen.set(entry.digest, entry);
    const missing = entries.filter((entry) => !listed.some((d) => d.digest === entry.digest));
    const lost = [...seen.values()].some((entry) => !listed.some((d) => d.digest === entry.digest));
    if (missing.length === 0 && !lost) {
      if (++confirmations >= 2) return;
      await sleep(50 + Math.random() * 100);
      continue;
    }
    confirmations = 0;
    for (const entry of entries) seen.set(entry.digest, entry);
    const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...seen.values()] };
    await client.putManifest(repo, tag, Buffer.from(JSON.stringify(index)), OCI_INDEX);
    // Writers that collided back off by different amounts, so one of them writes last with everything.
    await sleep(Math.random() * 50 * Math.min(round + 1, 6));
  }
  throw new SignetError({
    code: 'E_PROVIDER',
    message: `the referrers index ${repo.registry}/${repo.repository}:${tag} kept losing entries to other writers; try again`,
  });
}
