import crypto, { type KeyObject } from 'node:crypto';
import { hashLeaf, MerkleTree } from './merkle';

/*
 * The log behind Rekor v2, as rekor-tiles keeps it with Tessera: an append-only RFC 6962 tree
 * of canonicalized entries, published as C2SP artifacts. A checkpoint (c2sp.org/tlog-checkpoint)
 * is a signed note (c2sp.org/signed-note): the origin, the tree size and the base64 root hash,
 * each on its own line, then a blank line and one line "— <origin> base64(key ID ‖ signature)".
 * Tiles (c2sp.org/tlog-tiles) hold 256 hashes of one tree level each, entry bundles 256 entries.
 *
 * The log signs with Ed25519, like the public log2025-1.rekor.sigstore.dev. Its key ID is
 * the signed-note one, SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ public key): the checkpoint's signature
 * line carries its first 4 bytes; all 32 are the log's logId (rekor-tiles' note.KeyHash), in its
 * entries and in the trusted root.
 */

/** Hashes per tile and entries per entry bundle. */
export const TILE_WIDTH = 256;
/** A level-L tile holds the hashes of tree level 8·L. */
const TILE_HEIGHT = 8;
/** The signed-note signature type of Ed25519. */
const ED25519_SIGNATURE_TYPE = 0x01;

export class TiledLog {
  /** The log's public key (SPKI DER). */
  readonly publicKey: Buffer;
  /** SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ raw Ed25519 key): the log ID; its first 4 bytes are the note key ID. */
  readonly logId: Buffer;
  private readonly privateKey: KeyObject;
  private readonly tree = new MerkleTree();
  private readonly entries: Buffer[] = [];
  private readonly indexByLeafHash = new Map<string, number>();

  /**
   * `origin` names the log in its checkpoints: its URL without the scheme, which verifiers match against its URL.
   * `privateKey` (Ed25519) signs its checkpoints, by default a new one: two logs with one key and origin are a fork.
   */
  constructor(
    readonly origin: string,
    privateKey?: KeyObject,
  ) {
    if (origin === '' || /\s|\+/.test(origin)) throw new Error(`"${origin}" is not a valid signed-note key name`);
    this.privateKey = privateKey ?? crypto.generateKeyPairSync('ed25519').privateKey;
    this.publicKey = crypto.createPublicKey(this.privateKey).export({ format: 'der', type: 'spki' });
    // An Ed25519 SPKI is a fixed 12-byte header followed by the 32-byte key.
    const rawKey = this.publicKey.subarray(this.publicKey.length - 32);
    this.logId = crypto
      .createHash('sha256')
      .update(`${origin}\n`)
      .update(Buffer.from([ED25519_SIGNATURE_TYPE]))
      .update(rawKey)
      .digest();
  }

  get size(): number {
    return this.entries.length;
  }

  /** The key that signs the checkpoints, for a fork signed by the same log. */
  get signingKey(): KeyObject {
    return this.privateKey;
  }

  /** The entry at this index (its canonicalized body). */
  at(index: number): Buffer | undefined {
    return this.entries[index];
  }

  /** The index of an entry already in the log with these exact bytes. */
  indexOf(entry: Buffer): number | undefined {
    return this.indexByLeafHash.get(hashLeaf(entry).toString('hex'));
  }

  /** Appends an entry and returns its index. */
  append(entry: Buffer): number {
    const leafHash = hashLeaf(entry);
    const index = this.entries.length;
    this.entries.push(entry);
    this.tree.append(leafHash);
    this.indexByLeafHash.set(leafHash.toString('hex'), index);
    return index;
  }

  /** The root hash of the tree of the first `size` entries. */
  rootHash(size = this.size): Buffer {
    return this.tree.root(size);
  }

  /** The audit path of an entry in the tree of the first `size` entries, from the leaf up. */
  inclusionProof(index: number, size = this.size): Buffer[] {
    return this.tree.inclusionProof(index, size);
  }

  /** The signed checkpoint of the tree of the first `size` entries. */
  checkpoint(size = this.size): string {
    const note = `${this.origin}\n${size}\n${this.tree.root(size).toString('base64')}\n`;
    const signature = crypto.sign(null, Buffer.from(note), this.privateKey);
    return `${note}\n\u2014 ${this.origin} ${Buffer.concat([this.logId.subarray(0, 4), signature]).toString('base64')}\n`;
  }

  /**
   * The tile at this level and index as the log publishes it: full (`width` 256) once the
   * level has its 256 hashes; partial (`width` 1–255: the first `width` hashes) while it has
   * fewer. Undefined when there is no such tile: too few hashes yet, or a partial tile of a
   * tile that is full by now (Tessera garbage-collects those; tlog-tiles clients then fetch
   * the full tile).
   */
  tile(level: number, index: number, width = TILE_WIDTH): Buffer | undefined {
    const height = level * TILE_HEIGHT;
    if (!published(this.tree.width(height), index, width)) return undefined;
    const hashes: Buffer[] = [];
    for (let i = 0; i < width; i++) hashes.push(this.tree.node(height, index * TILE_WIDTH + i) as Buffer);
    return Buffer.concat(hashes);
  }

  /** The entry bundle with this index, published as tiles are; each entry prefixed by its length (big-endian uint16). */
  entryBundle(index: number, width = TILE_WIDTH): Buffer | undefined {
    if (!published(this.entries.length, index, width)) return undefined;
    const parts: Buffer[] = [];
    for (const entry of this.entries.slice(index * TILE_WIDTH, index * TILE_WIDTH + width)) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(entry.length);
      parts.push(length, entry);
    }
    return Buffer.concat(parts);
  }
}

/** Whether a tile `width` wide is published, when its level has `available` hashes (or entries). */
function published(available: number, index: number, width: number): boolean {
  const filled = Math.max(0, Math.min(TILE_WIDTH, available - index * TILE_WIDTH));
  return width === TILE_WIDTH ? filled === TILE_WIDTH : filled < TILE_WIDTH && width <= filled;
}

/** A tile's index as tlog-tiles writes it in paths: 3-digit groups, all but the last prefixed with x (1234067 → x001/x234/067). */
export function tileIndexPath(index: number): string {
  let path = String(index % 1000).padStart(3, '0');
  for (let rest = Math.floor(index / 1000); rest > 0; rest = Math.floor(rest / 1000)) {
    path = `x${String(rest % 1000).padStart(3, '0')}/${path}`;
  }
  return path;
}

/** The path of a tile (level a number) or entry bundle (level 'entries'), with `.p/W` for a partial one. */
export function tilePath(level: number | 'entries', index: number, width = TILE_WIDTH): string {
  return `/tile/${level}/${tileIndexPath(index)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
}

/**
 * Reads a tile path as Tessera does (layout.ParseTileLevel, ParseTileIndexPartial): level 0–63
 * or 'entries', index in x-prefixed 3-digit groups, width 1–255 after `.p/`. Undefined when the
 * path names no tile.
 */
export function parseTilePath(path: string): { level: number | 'entries'; index: number; width: number } | undefined {
  const match = /^\/tile\/(entries|\d+)\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d+))?$/.exec(path);
  if (!match) return undefined;
  const [, levelText, indexText, widthText] = match as unknown as [string, string, string, string | undefined];
  const level = levelText === 'entries' ? 'entries' : Number(levelText);
  if (level !== 'entries' && (level > 63 || String(level) !== levelText)) return undefined;
  const index = Number(indexText.replaceAll('x', '').replaceAll('/', ''));
  // Written canonically: no leading x000 group (tileIndexPath never writes one).
  if (!Number.isSafeInteger(index) || tileIndexPath(index) !== indexText) return undefined;
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && (width < 1 || width >= TILE_WIDTH || String(width) !== widthText)) return undefined;
  return { level, index, width };
}
