import { setTimeout as sleep } from 'node:timers/promises';
import { SignetError } from '@signet/core';
import type { Descriptor } from './media-types';
import { registryErrorCode } from './registry-client';

/** A manifest at a tag that several writers add descriptors to: the referrers index, a legacy `.sig` manifest. */
export interface SharedManifest {
  /** For messages: REGISTRY/REPOSITORY:TAG. */
  name: string;
  /** The descriptors the manifest lists now (none when it does not exist yet). */
  read(): Promise<Descriptor[]>;
  /** Writes the manifest listing exactly these descriptors. */
  write(descriptors: Descriptor[]): Promise<void>;
  /** When two descriptors are the same entry. */
  key(descriptor: Descriptor): string;
}

/**
 * Adds descriptors to a shared manifest without losing anyone's. Registries ignore If-Match,
 * so two writers can each read the manifest, add their entry and write: the second write drops
 * the first entry. Each writer therefore reads the manifest back after writing, keeps every
 * entry it has ever seen, and writes again until all of them are there; then it waits a moment
 * and checks once more, for a writer whose read came before its write and whose write came
 * after its check. Writers that collided back off by different amounts, so that one of them
 * writes last with everything.
 */
export async function addToSharedManifest(manifest: SharedManifest, entries: Descriptor[]): Promise<void> {
  const seen = new Map<string, Descriptor>();
  let confirmations = 0;
  // How long a read and a write take here and now: another writer is about as slow, and the
  // wait before each confirming read must outlast its read-to-write gap.
  let slowest = 0;
  // A registry refusal we retried; if it is still the last word after every round, it is the answer.
  let refused: unknown;
  for (let round = 0; round < 20; round++) {
    const started = Date.now();
    const listed = await manifest.read();
    const listedKeys = new Set(listed.map(manifest.key));
    for (const entry of listed) if (!seen.has(manifest.key(entry))) seen.set(manifest.key(entry), entry);
    const complete = entries.every((entry) => listedKeys.has(manifest.key(entry))) && [...seen.keys()].every((key) => listedKeys.has(key));
    if (complete) {
      if (++confirmations >= 2) return;
      await sleep(Math.max(100, 3 * slowest) + Math.random() * 100);
      continue;
    }
    confirmations = 0;
    for (const entry of entries) seen.set(manifest.key(entry), entry);
    try {
      await manifest.write([...seen.values()]);
      refused = undefined;
    } catch (error) {
      // Two writers with the same entries push the same config blob at once, and
      // docker-registry's filesystem storage rewrites that blob's link file in place (truncate,
      // then write): a manifest checked in between reads an empty link, an invalid digest, and
      // is refused with DIGEST_INVALID (distribution 2.8, storage/driver/filesystem PutContent).
      // Nothing of ours was wrong; the next round reads and writes again.
      if (registryErrorCode(error) !== 'DIGEST_INVALID') throw error;
      refused = error;
    }
    slowest = Math.max(slowest, Date.now() - started);
    await sleep(Math.random() * Math.max(50, slowest) * Math.min(round + 1, 6));
  }
  if (refused) throw refused;
  throw new SignetError({ code: 'E_PROVIDER', message: `${manifest.name} kept losing entries to other writers; try again` });
}
