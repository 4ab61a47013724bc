// The monitor's Merkle code against a naive RFC 6962 tree hash (the emulators' recursive MTH)
// for every size, every pair m ≤ n of a few hundred leaves, and the tlog-tiles layout example.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { auditPath, consistencyPath, hashLeaf as naiveLeaf, TiledLog, treeHash, writeTilesDirectory } from '@signet/emulators/sigstore';
import { DEFAULT_FETCHER } from '../src/fetch';
import { CompactRange, consistencyFailure, hashLeaf, rangeFromInclusionProof, rootFromInclusionProof } from '../src/merkle';
import { compactRangeFromTiles, tileIndexPath, tilePath, tileSource } from '../src/tiles';

const N = 200;
const entries = Array.from({ length: N }, (_, i) => Buffer.from(`entry ${i}`));
const leaves = entries.map(naiveLeaf);
const roots = Array.from({ length: N + 1 }, (_, n) => treeHash(leaves.slice(0, n)));

test('leaf hashes are RFC 6962 leaf hashes', () => {
  for (const entry of entries) expect(hashLeaf(entry)).toEqual(naiveLeaf(entry));
  // Entries larger than the reused hashing buffer, and a short one after them (nothing left over).
  for (const size of [0, 65_535, 65_536, 200_000, 3]) {
    const entry = Buffer.alloc(size, size % 251);
    expect(hashLeaf(entry)).toEqual(naiveLeaf(entry));
  }
});

test('a compact range grown one leaf at a time has the naive root at every size, and survives JSON', () => {
  const range = new CompactRange();
  expect(range.root()).toEqual(roots[0]);
  for (let n = 1; n <= N; n++) {
    range.append(leaves[n - 1] as Buffer);
    expect(range.root()).toEqual(roots[n]);
    expect(CompactRange.fromJSON(JSON.parse(JSON.stringify(range.toJSON()))).root()).toEqual(roots[n]);
  }
});

test('every consistency proof 1 ≤ m ≤ n ≤ 200 verifies; a changed hash, a wrong root or a wrong size does not', () => {
  for (let n = 1; n <= N; n++) {
    for (let m = 1; m <= n; m++) {
      const proof = consistencyPath(m, leaves.slice(0, n));
      const root1 = roots[m] as Buffer;
      const root2 = roots[n] as Buffer;
      expect(consistencyFailure(m, n, proof, root1, root2)).toBeUndefined();
      if (m === n) continue;
      const tampered = proof.map((hash, i) => (i === (m + n) % proof.length ? flip(hash) : hash));
      expect(consistencyFailure(m, n, tampered, root1, root2)).toBeDefined();
      expect(consistencyFailure(m, n, proof, flip(root1), root2)).toBeDefined();
      expect(consistencyFailure(m, n, proof, root1, flip(root2))).toBeDefined();
      expect(consistencyFailure(m, n, proof.slice(1), root1, root2)).toBeDefined();
      if (n < N) expect(consistencyFailure(m, n + 1, proof, root1, roots[n + 1] as Buffer)).toBeDefined();
    }
  }
});

test('a shrunk tree and an empty proof are refused; the empty tree is consistent with any', () => {
  expect(consistencyFailure(5, 4, [], roots[5] as Buffer, roots[4] as Buffer)).toMatch(/shrank/);
  expect(consistencyFailure(3, 5, [], roots[3] as Buffer, roots[5] as Buffer)).toMatch(/empty/);
  expect(consistencyFailure(4, 4, [], roots[4] as Buffer, roots[5] as Buffer)).toMatch(/different roots/);
  expect(consistencyFailure(0, 7, [], roots[0] as Buffer, roots[7] as Buffer)).toBeUndefined();
});

test('inclusion proofs: the root they lead to, and the compact range their left siblings give, for every leaf of every size ≤ 120', () => {
  for (let n = 1; n <= 120; n++) {
    const tree = leaves.slice(0, n);
    for (let i = 0; i < n; i++) {
      const proof = auditPath(i, tree);
      expect(rootFromInclusionProof(i, n, leaves[i] as Buffer, proof)).toEqual(roots[n]);
      expect(rangeFromInclusionProof(i, n, leaves[i] as Buffer, proof).root()).toEqual(roots[i + 1]);
    }
  }
  expect(() => rangeFromInclusionProof(3, 8, leaves[3] as Buffer, [])).toThrow(/has 3 hashes/);
});

describe('tiles (c2sp.org/tlog-tiles)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-tiles-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('an index is written in 3-digit groups, all but the last prefixed with x: 1234067 is x001/x234/067', () => {
    expect(tileIndexPath(1234067)).toBe('x001/x234/067');
    expect(tileIndexPath(0)).toBe('000');
    expect(tileIndexPath(1000)).toBe('x001/000');
    expect(tilePath(1, 1234067, 17)).toBe('/tile/1/x001/x234/067.p/17');
    expect(tilePath('entries', 5)).toBe('/tile/entries/005');
  });

  test("the spec's example: a tree of 70,000 has 273 full level-0 tiles, a partial of 112, a full level-1 tile, a partial of 17 and a level-2 partial of 1; its compact range at many sizes is the log's root", async () => {
    const log = new TiledLog('tiles.example/log');
    for (let i = 0; i < 70_000; i++) log.append(Buffer.from(`entry ${i}`));
    const dir = path.join(tmp, 'seventy-thousand');
    writeTilesDirectory(log, dir);
    const level = (l: number) => fs.readdirSync(path.join(dir, 'tile', String(l)), { recursive: true }).map(String);
    const files = (l: number) => level(l).filter((name) => fs.statSync(path.join(dir, 'tile', String(l), name)).isFile());
    expect(files(0).filter((name) => !name.includes('.p')).length).toBe(273);
    expect(files(0).filter((name) => name.includes('.p'))).toEqual([path.join('273.p', '112')]);
    expect(files(1).sort()).toEqual(['000', path.join('001.p', '17')].sort());
    expect(files(2)).toEqual([path.join('000.p', '1')]);
    expect(fs.existsSync(path.join(dir, 'tile', '3'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'checkpoint'), 'utf8')).toContain('\n70000\n');

    const source = tileSource(pathToFileURL(dir).href, DEFAULT_FETCHER);
    const range = await compactRangeFromTiles(source, 70_000);
    expect(range.root()).toEqual(log.rootHash());
    // Any smaller size, from the tiles published for 70,000.
    for (const size of [0, 1, 255, 256, 257, 65_535, 65_536, 65_537, 69_999]) {
      expect((await compactRangeFromTiles(source, size, 70_000)).root()).toEqual(log.rootHash(size));
    }
  });
});

function flip(hash: Buffer): Buffer {
  const copy = Buffer.from(hash);
  copy[0] = (copy[0] as number) ^ 0x01;
  return copy;
}
