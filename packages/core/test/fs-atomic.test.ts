import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

describe('writeFileAtomic', () => {
  it('writes with the mode asked for and leaves no temporary file', async () => {
    const file = path.join(tmp(), 'secret.key');
    await writeFileAtomic(file, 'data', { mode: 0o600 });
    expect(fs.readFileSync(file, 'utf8')).toBe('data');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(tmp())).toEqual(['secret.key']);
  });

  it('refuses to replace a file unless allowed, leaving it untouched', async () => {
    const file = path.join(tmp(), 'out');
    fs.writeFileSync(file, 'original');
    await expect(writeFileAtomic(file, 'new', { overwrite: false })).rejects.toMatchObject({ code: 'E_EXISTS' });
    expect(fs.readFileSync(file, 'utf8')).toBe('original');
    await writeFileAtomic(file, 'new');
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readdirSync(tmp())).toEqual(['out']);
  });

  it('fails cleanly into a missing directory, leaving nothing behind', async () => {
    await expect(writeFileAtomic(path.join(tmp(), 'no/such/dir/file'), 'x')).rejects.toMatchObject({ code: 'E_INPUT' });
    expect(fs.readdirSync(tmp())).toEqual([]);
  });
});
