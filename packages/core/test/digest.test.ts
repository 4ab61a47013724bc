import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { digestBytes, digestFile, digestStream } from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

describe('digestFile', () => {
  it('computes sha256, sha384 and sha512 in one pass across chunk boundaries', async () => {
    // 9 MiB + 7 bytes: spans both read buffers (4 MiB each) and a short last chunk.
    const data = crypto.randomBytes(9 * 1024 * 1024 + 7);
    const file = path.join(tmp(), 'blob');
    fs.writeFileSync(file, data);
    const progress: number[] = [];
    const { digests, size } = await digestFile(file, ['sha256', 'sha384', 'sha512'], { onProgress: (done) => progress.push(done) });
    expect(size).toBe(data.length);
    for (const algorithm of ['sha256', 'sha384', 'sha512'] as const) {
      expect(digests[algorithm]?.toString('hex')).toBe(crypto.createHash(algorithm).update(data).digest('hex'));
    }
    expect(progress.at(-1)).toBe(data.length);
    expect(progress.length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['missing', (dir: string) => path.join(dir, 'nope'), /does not exist/],
    ['a directory', (dir: string) => dir, /directory/],
    [
      'empty',
      (dir: string) => {
        fs.writeFileSync(path.join(dir, 'empty'), '');
        return path.join(dir, 'empty');
      },
      /is empty/,
    ],
  ])('refuses a %s file with E_INPUT', async (_what, make, message) => {
    await expect(digestFile(make(tmp()), ['sha256'])).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(message) });
  });
});

describe('digestStream and digestBytes', () => {
  it('agree with node:crypto', async () => {
    const data = crypto.randomBytes(100_000);
    const expected = crypto.createHash('sha512').update(data).digest('hex');
    const fromStream = await digestStream(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), ['sha512']);
    expect(fromStream.digests.sha512?.toString('hex')).toBe(expected);
    expect(fromStream.size).toBe(data.length);
    expect(digestBytes(data, ['sha512']).sha512?.toString('hex')).toBe(expected);
  });
});
