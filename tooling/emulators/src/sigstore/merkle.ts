import crypto from 'node:crypto';

/*
 * RFC 6962 Merkle trees, as both Rekor logs hash them: leaf = SHA-256(0x00 ‖ entry),
 * node = SHA-256(0x01 ‖ left ‖ right), the empty tree's root = SHA-256("").
 */

export function hashLeaf(entry: Buffer): Buffer {
  return crypto
    .createHash('sha256')
    .update(Buffer.from([0x00]))
    .update(entry)
    .digest();
}

export function hashChildren(left: Buffer, right: Buffer): Buffer {
  return crypto
    .createHash('sha256')
    .update(Buffer.from([0x01]))
    .update(left)
    .update(right)
    .digest();
}

/** The largest power of two smaller than n (n > 1): where RFC 6962 splits a tree of n leaves. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 6962 MTH over a list of leaf hashes. */
export function treeHash(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return crypto.createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = split(leaves.length);
  return hashChildren(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

/** RFC 6962 PATH(m, D[n]) over a list of leaf hashes, from the leaf up. */
export function auditPath(index: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...auditPath(index, leaves.slice(0, k)), treeHash(leaves.slice(k))]
    : [...auditPath(index - k, leaves.slice(k)), treeHash(leaves.slice(0, k))];
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]) over a list of leaf hashes: the consistency proof between
 * the tree of the first `m` leaves and the tree of all of them (0 < m ≤ n).
 */
export function consistencyPath(m: number, leaves: Buffer[]): Buffer[] {
  if (!Number.isInteger(m) || m < 1 || m > leaves.length) throw new Error(`no consistency proof from ${m} to ${leaves.length}`);
  return subproof(m, leaves, true);
}

function subproof(m: number, leaves: Buffer[], complete: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [treeHash(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), treeHash(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), treeHash(leaves.slice(0, k))];
}

/**
 * An append-only tree that keeps every complete subtree's root: `levels[h][i]` is the root of
 * leaves i·2^h … (i+1)·2^h − 1, present once all of them are. That is exactly what a tiled log
 * publishes (a level-L tile holds level 8L's hashes), and it makes roots and proofs of any
 * earlier size cheap.
 */
export class MerkleTree {
  private readonly levels: Buffer[][] = [[]];

  get size(): number {
    return this.levels[0]?.length ?? 0;
  }

  append(leafHash: Buffer): void {
    let hash = leafHash;
    for (let height = 0; ; height++) {
      this.levels[height] ??= [];
      const level = this.levels[height] as Buffer[];
      level.push(hash);
      if (level.length % 2 === 1) return;
      hash = hashChildren(level[level.length - 2] as Buffer, hash);
    }
  }

  /** The root of the complete subtree at this height and index, if it is complete. */
  node(height: number, index: number): Buffer | undefined {
    return this.levels[height]?.[index];
  }

  /** How many complete subtrees of this height there are. */
  width(height: number): number {
    return this.levels[height]?.length ?? 0;
  }

  /** The root of the tree of the first `size` leaves. */
  root(size = this.size): Buffer {
    this.check(size);
    return size === 0 ? crypto.createHash('sha256').digest() : this.subtree(0, size);
  }

  /** RFC 6962 PATH(index, D[size]): the inclusion proof of a leaf in the tree of `size` leaves. */
  inclusionProof(index: number, size = this.size): Buffer[] {
    this.check(size);
    if (index < 0 || index >= size) throw new Error(`leaf ${index} is not in a tree of ${size}`);
    const path: Buffer[] = [];
    let start = 0;
    let end = size;
    // Walks down from the root; RFC 6962 lists the siblings from the leaf up.
    while (end - start > 1) {
      const k = split(end - start);
      if (index < start + k) {
        path.unshift(this.subtree(start + k, end));
        end = start + k;
      } else {
        path.unshift(this.subtree(start, start + k));
        start += k;
      }
    }
    return path;
  }

  /** MTH of leaves start … end − 1, from the stored complete subtrees. */
  private subtree(start: number, end: number): Buffer {
    const n = end - start;
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const node = this.node(Math.log2(n), start / n);
      if (node) return node;
    }
    const k = split(n);
    return hashChildren(this.subtree(start, start + k), this.subtree(start + k, end));
  }

  private check(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size) throw new Error(`no tree of size ${size} (the log has ${this.size})`);
  }
}
