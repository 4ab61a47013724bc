import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SignetError } from '@signet/core';
import { type Fetcher, fetchBytes } from './fetch';
import { CompactRange, hashChildren } from './merkle';

/*
 * A Rekor v2 log's read side, c2sp.org/tlog-tiles: `/checkpoint`, `/tile/<L>/<N>[.p/<W>]` (256
 * hashes of 32 bytes from tree level 8·L) and `/tile/entries/<N>[.p/<W>]` (256 entries, each
 * prefixed by its length as a big-endian uint16). N is written in 3-digit groups, all but the
 * last prefixed with x. Read over HTTP or from a folder holding the same paths.
 */

export const TILE_WIDTH = 256;
const HASH_SIZE = 32;

/** Where tiles are read from: a log's URL, or a folder. Undefined for a resource that is not there (404). */
export interface TileSource {
  readonly name: string;
  read(path: string): Promise<Buffer | undefined>;
}

export function tileSource(url: string, fetcher: Fetcher): TileSource {
  if (url.startsWith('file:')) {
    const dir = fileURLToPath(url);
    return {
      name: dir,
      // Synchronously: a tile from the page cache is read in a copy, where the thread pool's
      // round trips (open, stat, read, close, each waiting its turn on a busy machine) took
      // longer than scanning the tile, and a scan has nothing else to do meanwhile. Opened
      // without blocking and read only if a regular file: a FIFO must not hang the run.
      async read(relative) {
        const file = `${dir}${relative}`;
        let fd: number;
        try {
          fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
        } catch (cause) {
          if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw readError(file, cause);
        }
        try {
          if (!fs.fstatSync(fd).isFile()) throw new SignetError({ code: 'E_PROVIDER', message: `${file} is not a regular file` });
          return fs.readFileSync(fd);
        } catch (cause) {
          throw cause instanceof SignetError ? cause : readError(file, cause);
        } finally {
          fs.closeSync(fd);
        }
      },
    };
  }
  return {
    name: url,
    read: (relative) => fetchBytes(fetcher, `${url}${relative}`, { service: `the Rekor v2 log ${url}`, notFound: 'undefined' }),
  };
}

function readError(file: string, cause: unknown): SignetError {
  return new SignetError({ code: 'E_PROVIDER', message: `cannot read ${file}: ${(cause as Error).message}`, cause });
}

/** A tile index in tlog-tiles' path form: 1234067 → x001/x234/067. */
export function tileIndexPath(index: number): string {
  let path = String(index % 1000).padStart(3, '0');
  for (let rest = Math.floor(index / 1000); rest > 0; rest = Math.floor(rest / 1000))
    path = `x${String(rest % 1000).padStart(3, '0')}/${path}`;
  return path;
}

/** The path of a tile (a level) or entry bundle ('entries'), partial (`.p/W`) when narrower than 256. */
export function tilePath(level: number | 'entries', index: number, width = TILE_WIDTH): string {
  return `/tile/${level}/${tileIndexPath(index)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
}

/**
 * The width tile `index` of a level has in a tree of `size` leaves (0: not yet published): level L
 * holds floor(size / 256^L) hashes.
 */
export function tileWidth(level: number, index: number, size: number): number {
  const hashes = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, hashes - index * TILE_WIDTH));
}

/**
 * Reads a tile or entry bundle as published for a tree of `size` leaves: the partial one for
 * that size, or the full one when the log has grown since and dropped the partial (tlog-tiles
 * lets it), which holds the same first hashes.
 */
async function readTile(source: TileSource, level: number | 'entries', index: number, size: number): Promise<Buffer> {
  const width = tileWidth(level === 'entries' ? 0 : level, index, size);
  const bytes =
    (await source.read(tilePath(level, index, width))) ?? (width < TILE_WIDTH ? await source.read(tilePath(level, index)) : undefined);
  if (!bytes) {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `${source.name} does not serve ${tilePath(level, index, width).slice(1)}, which its checkpoint of ${size} entries requires`,
    });
  }
  return bytes;
}

/**
 * The entries [from, to) of a tree of `size`, read bundle by bundle, a few bundles ahead, and
 * yielded a bundle at a time: a step of an async generator per entry would cost more than
 * hashing the entry.
 */
export async function* readEntries(
  source: TileSource,
  from: number,
  to: number,
  size: number,
): AsyncGenerator<{ index: number; body: Buffer }[]> {
  if (from >= to) return;
  const first = Math.floor(from / TILE_WIDTH);
  const last = Math.floor((to - 1) / TILE_WIDTH);
  const ahead: Promise<Buffer>[] = [];
  let next = first;
  const fill = () => {
    while (next <= last && ahead.length < 4) ahead.push(readTile(source, 'entries', next++, size));
  };
  fill();
  for (let bundle = first; bundle <= last; bundle++) {
    const bytes = await (ahead.shift() as Promise<Buffer>);
    fill();
    const start = bundle * TILE_WIDTH;
    const end = Math.min(to, start + tileWidth(0, bundle, size));
    const entries: { index: number; body: Buffer }[] = [];
    let offset = 0;
    for (let index = start; index < end; index++) {
      if (offset + 2 > bytes.length) throw bundleError(source, bundle);
      const length = bytes.readUInt16BE(offset);
      if (offset + 2 + length > bytes.length) throw bundleError(source, bundle);
      if (index >= from) entries.push({ index, body: bytes.subarray(offset + 2, offset + 2 + length) });
      offset += 2 + length;
    }
    yield entries;
  }
}

function bundleError(source: TileSource, bundle: number): SignetError {
  return new SignetError({ code: 'E_PROVIDER', message: `${source.name}: entry bundle ${tileIndexPath(bundle)} is truncated` });
}

/**
 * The compact range [0, size) from the log's tiles: each subtree root of the decomposition of
 * `size` is a tile hash, or the hash of up to 128 consecutive hashes of one tile. The tiles are
 * read as published for a checkpoint of `published` entries (≥ size), which hold every hash of
 * a smaller tree. Unverified until its root is compared with a checkpoint's.
 */
export async function compactRangeFromTiles(source: TileSource, size: number, published = size): Promise<CompactRange> {
  const tiles = new Map<string, Promise<Buffer>>();
  const tile = (level: number, index: number) => {
    const key = `${level}/${index}`;
    let read = tiles.get(key);
    if (!read) {
      read = readTile(source, level, index, published);
      tiles.set(key, read);
    }
    return read;
  };
  const nodes: Buffer[] = [];
  let start = 0;
  for (let height = Math.floor(Math.log2(Math.max(size, 1))); height >= 0; height--) {
    if (Math.floor(size / 2 ** height) % 2 === 0) continue;
    const level = Math.floor(height / 8);
    const below = height % 8;
    // The node covers 2^below consecutive hashes of tree level 8·level, starting here:
    const first = (start / 2 ** height) * 2 ** below;
    const bytes = await tile(level, Math.floor(first / TILE_WIDTH));
    const offset = first % TILE_WIDTH;
    let hashes: Buffer[] = [];
    for (let i = 0; i < 2 ** below; i++) {
      const at = (offset + i) * HASH_SIZE;
      if (at + HASH_SIZE > bytes.length)
        throw new SignetError({
          code: 'E_PROVIDER',
          message: `${source.name}: tile ${level}/${tileIndexPath(Math.floor(first / TILE_WIDTH))} is too short`,
        });
      hashes.push(bytes.subarray(at, at + HASH_SIZE));
    }
    while (hashes.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < hashes.length; i += 2) up.push(hashChildren(hashes[i] as Buffer, hashes[i + 1] as Buffer));
      hashes = up;
    }
    nodes.push(Buffer.from(hashes[0] as Buffer));
    start += 2 ** height;
  }
  return new CompactRange(size, nodes);
}
