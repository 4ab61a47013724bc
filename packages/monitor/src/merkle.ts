import crypto from 'node:crypto';

/*
 * RFC 6962 / RFC 9162 Merkle trees as both Rekor logs hash them (leaf = SHA-256(0x00 ‖ entry),
 * node = SHA-256(0x01 ‖ left ‖ right)): the compact range a monitor keeps between runs, and
 * the verification of consistency and inclusion proofs. After transparency-dev/merkle
 * (compact/range.go, proof/verify.go), for ranges that start at 0.
 */

// Scanning a log is bounded by hashing: every entry's leaf hash, and about one node hash per entry
// for the compact range. A Hash object per hash (createHash, update, digest) costs more than the
// SHA-256 of a typical entry, so the prefixed input is copied into a reused buffer and hashed in
// one call (crypto.hash); a larger entry than the buffer holds is hashed the usual way.
const SCRATCH_BYTES = 64 * 1024;
const leafInput = Buffer.alloc(SCRATCH_BYTES);
const nodeInput = Buffer.alloc(65);
nodeInput[0] = 0x01;

export function hashLeaf(entry: Uint8Array): Buffer {
  if (entry.length >= SCRATCH_BYTES) return crypto.createHash('sha256').update(leafInput.subarray(0, 1)).update(entry).digest();
  leafInput.set(entry, 1);
  return crypto.hash('sha256', leafInput.subarray(0, entry.length + 1), 'buffer');
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  // A proof from a log may hold hashes of any length: only SHA-256 ones fit the buffer.
  if (left.length !== 32 || right.length !== 32)
    return crypto.createHash('sha256').update(nodeInput.subarray(0, 1)).update(left).update(right).digest();
  nodeInput.set(left, 1);
  nodeInput.set(right, 33);
  // A 'buffer' digest gets an ArrayBuffer of its own, which costs more than hashing 65 bytes;
  // a binary (latin1) string, byte for byte the digest, copied into a pooled Buffer costs a third of it.
  return Buffer.from(crypto.hash('sha256', nodeInput, 'binary'), 'latin1');
}

export const EMPTY_ROOT: Buffer = crypto.createHash('sha256').digest();

/**
 * The compact range [0, size): the roots of the perfect subtrees that the binary
 * decomposition of `size` cuts the tree into, largest (leftmost) first. It is all a monitor
 * needs to keep: appending the next leaves and folding it gives the root of any larger tree,
 * so equal roots prove that the log only appended, and that these were its entries.
 */
export class CompactRange {
  constructor(
    private count: number = 0,
    private readonly hashes: Buffer[] = [],
  ) {
    if (hashes.length !== popcount(count))
      throw new Error(`a compact range of ${count} leaves has ${popcount(count)} hashes, not ${hashes.length}`);
  }

  get size(): number {
    return this.count;
  }

  /** The subtree roots, largest first (a copy). */
  get nodes(): Buffer[] {
    return [...this.hashes];
  }

  /** Appends the next leaf (its leaf hash). */
  append(leafHash: Buffer): void {
    let hash = leafHash;
    // Every trailing 1 bit of the size is a subtree of that height that now has a right sibling.
    for (let size = this.count; size % 2 === 1; size = Math.floor(size / 2)) {
      hash = hashChildren(this.hashes.pop() as Buffer, hash);
    }
    this.hashes.push(hash);
    this.count += 1;
  }

  /** The root hash of the tree [0, size). */
  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let root = this.hashes[this.hashes.length - 1] as Buffer;
    for (let i = this.hashes.length - 2; i >= 0; i--) root = hashChildren(this.hashes[i] as Buffer, root);
    return root;
  }

  clone(): CompactRange {
    return new CompactRange(this.count, [...this.hashes]);
  }

  toJSON(): { size: number; hashes: string[] } {
    return { size: this.count, hashes: this.hashes.map((hash) => hash.toString('hex')) };
  }

  static fromJSON(json: { size: number; hashes: string[] }): CompactRange {
    return new CompactRange(
      json.size,
      json.hashes.map((hash) => Buffer.from(hash, 'hex')),
    );
  }
}

function popcount(n: number): number {
  let bits = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2)) bits += rest % 2;
  return bits;
}

function bitLength(n: number): number {
  return n === 0 ? 0 : Math.floor(Math.log2(n)) + 1;
}

/** Splits an inclusion proof of leaf `index` in a tree of `size`: the levels below where it meets the right border, and above. */
function decomposeInclusion(index: number, size: number): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1));
  return { inner, border: popcount(Math.floor(index / 2 ** inner)) };
}

/**
 * The compact range [0, index + 1) from an inclusion proof of leaf `index` (in a tree of any
 * size greater than index): the proof's left siblings are the subtrees left of the leaf. The
 * range is only as good as the proof: compare its root with a verified checkpoint's.
 */
export function rangeFromInclusionProof(index: number, size: number, leafHash: Buffer, proof: readonly Buffer[]): CompactRange {
  if (!(index >= 0 && index < size)) throw new Error(`leaf ${index} is not in a tree of ${size}`);
  const { inner, border } = decomposeInclusion(index, size);
  if (proof.length !== inner + border)
    throw new Error(`an inclusion proof of leaf ${index} in a tree of ${size} has ${inner + border} hashes, not ${proof.length}`);
  const left: Buffer[] = [];
  for (let level = 0; level < inner; level++) if (Math.floor(index / 2 ** level) % 2 === 1) left.push(proof[level] as Buffer);
  left.push(...(proof.slice(inner) as Buffer[]));
  const range = new CompactRange(index, left.reverse());
  range.append(leafHash);
  return range;
}

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2). */
export function rootFromInclusionProof(index: number, size: number, leafHash: Buffer, proof: readonly Buffer[]): Buffer {
  if (!(index >= 0 && index < size)) throw new Error(`leaf ${index} is not in a tree of ${size}`);
  const { inner, border } = decomposeInclusion(index, size);
  if (proof.length !== inner + border)
    throw new Error(`an inclusion proof of leaf ${index} in a tree of ${size} has ${inner + border} hashes, not ${proof.length}`);
  let hash = leafHash;
  for (let level = 0; level < inner; level++) {
    const sibling = proof[level] as Buffer;
    hash = Math.floor(index / 2 ** level) % 2 === 0 ? hashChildren(hash, sibling) : hashChildren(sibling, hash);
  }
  for (const sibling of proof.slice(inner)) hash = hashChildren(sibling, hash);
  return hash;
}

/**
 * Verifies an RFC 9162 consistency proof (§2.1.4.2) between the tree of `size1` leaves with
 * root `root1` and the tree of `size2` with root `root2`. Returns why it fails, or undefined.
 */
export function consistencyFailure(
  size1: number,
  size2: number,
  proof: readonly Buffer[],
  root1: Buffer,
  root2: Buffer,
): string | undefined {
  if (size2 < size1) return `the tree shrank from ${size1} to ${size2} entries`;
  if (size1 === size2) {
    if (proof.length > 0) return 'a proof between equal sizes must be empty';
    return root1.equals(root2) ? undefined : `two different roots for ${size1} entries`;
  }
  if (size1 === 0) return proof.length > 0 ? 'a proof from the empty tree must be empty' : undefined;
  if (proof.length === 0) return 'the proof is empty';
  // RFC 9162 §2.1.4.2: when size1 is a power of two, root1 itself starts the proof.
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return 'the proof is longer than the trees need';
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return 'the proof is shorter than the trees need';
  if (!fr.equals(root1)) return `the proof does not lead to the earlier root (of ${size1} entries)`;
  if (!sr.equals(root2)) return `the proof does not lead to the new root (of ${size2} entries)`;
  return undefined;
}
