import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from './log';
import { TILE_WIDTH, type TiledLog, tilePath } from './tiled-log';

/*
 * A Rekor v2 log written to a folder exactly as its storage bucket serves it
 * (c2sp.org/tlog-tiles): `checkpoint`, every full tile of every level, the partial tiles of the
 * current tree size (`.p/W`), and the entry bundles likewise. A monitor reads it as a
 * `file:` URL; a log of more than 65,536 entries has a level-2 tile (256² leaves under each
 * level-1 hash), which this writes as the spec's layout puts it.
 */

/** Writes `log` as tiles under `dir` (created if needed); returns how many files were written. */
export function writeTilesDirectory(log: TiledLog, dir: string): number {
  let written = 0;
  const write = (relative: string, bytes: Buffer | string) => {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    written += 1;
  };
  for (let level = 0; ; level++) {
    // The number of hashes at tree level 8·level: the leaves over 256^level, rounded down.
    const hashes = Math.floor(log.size / TILE_WIDTH ** level);
    if (hashes === 0) break;
    for (let index = 0; index * TILE_WIDTH < hashes; index++) {
      const width = Math.min(TILE_WIDTH, hashes - index * TILE_WIDTH);
      write(tilePath(level, index, width), log.tile(level, index, width) as Buffer);
      if (level === 0) write(tilePath('entries', index, width), log.entryBundle(index, width) as Buffer);
    }
  }
  write('checkpoint', log.checkpoint());
  return written;
}

/** What signed one synthetic entry: a certificate (DER) or a public key (DER SPKI). */
export type SyntheticVerifier = { x509Certificate: Buffer } | { publicKey: Buffer };

/**
 * A hashedrekord v0.0.2 entry as rekor-tiles canonicalizes it (see hashedrekord-v2.ts), for
 * logs too large to fill through the API: the digest and signature are given, not checked.
 */
export function hashedRekordV2Body(verifier: SyntheticVerifier, digest: Buffer, signature: Buffer): Buffer {
  const material =
    'x509Certificate' in verifier
      ? { x509Certificate: { rawBytes: verifier.x509Certificate.toString('base64') } }
      : { publicKey: { rawBytes: verifier.publicKey.toString('base64') } };
  return Buffer.from(
    canonicalJson({
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
          signature: { content: signature.toString('base64'), verifier: { keyDetails: 'PKIX_ECDSA_P256_SHA_256', ...material } },
        },
      },
    }),
  );
}
