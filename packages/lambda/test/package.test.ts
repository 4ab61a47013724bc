// Deterministic packaging: the zip's bytes depend only on the tree's paths, contents and
// executable bits, read back with an independent zip reader (yauzl).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalSigner, signDirectory } from '@signet/core';
import yauzl from 'yauzl';
import { packageZip, withVerifiedLayers } from '../src';

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-lambda-package-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let trees = 0;
/** A function's source tree, written in the given order (so directory order differs between copies). */
function tree(files: Record<string, string>, order = Object.keys(files)): string {
  const dir = path.join(work, `tree-${++trees}`);
  for (const name of order) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), files[name] as string);
  }
  return dir;
}

const FILES = {
  'index.mjs': 'export const handler = async () => ({ statusCode: 200 });\n',
  'lib/util.mjs': 'export const id = (x) => x;\n',
  'node_modules/dep/package.json': '{"name":"dep","version":"1.0.0"}\n',
  'node_modules/dep/index.js': 'module.exports = 42;\n',
  'bin/run': '#!/bin/sh\necho run\n',
};

interface Entry {
  name: string;
  mode: number;
  mtime: Date;
  data: Buffer;
}

function readZip(file: string): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const entries: Entry[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            entries.push({
              name: entry.fileName,
              mode: entry.externalFileAttributes >>> 16,
              mtime: entry.getLastModDate(),
              data: Buffer.concat(chunks),
            });
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

test('the same tree twice gives the same bytes, whatever the order files were written in and their times', async () => {
  const a = tree(FILES);
  const b = tree(FILES, Object.keys(FILES).reverse());
  for (const dir of [a, b]) fs.chmodSync(path.join(dir, 'bin/run'), 0o755);
  fs.utimesSync(path.join(b, 'index.mjs'), new Date('2031-05-06'), new Date('2031-05-06'));

  const first = await packageZip(a, path.join(work, 'a.zip'));
  const second = await packageZip(b, path.join(work, 'b.zip'));
  expect(second.sha256).toBe(first.sha256);
  expect(fs.readFileSync(path.join(work, 'b.zip'))).toEqual(fs.readFileSync(path.join(work, 'a.zip')));
  expect(first.sha256).toBe(
    crypto
      .createHash('sha256')
      .update(fs.readFileSync(path.join(work, 'a.zip')))
      .digest('hex'),
  );
  expect(first.codeSha256).toBe(Buffer.from(first.sha256, 'hex').toString('base64'));

  const entries = await readZip(path.join(work, 'a.zip'));
  expect(entries.map((e) => e.name)).toEqual([
    'bin/run',
    'index.mjs',
    'lib/util.mjs',
    'node_modules/dep/index.js',
    'node_modules/dep/package.json',
  ]);
  for (const entry of entries) {
    expect(entry.data.toString()).toBe(FILES[entry.name as keyof typeof FILES]);
    expect(entry.mtime.getFullYear()).toBe(1980);
    expect(entry.mode).toBe(entry.name === 'bin/run' ? 0o100755 : 0o100644);
  }
});

test.each([
  ['a changed file', (dir: string) => fs.appendFileSync(path.join(dir, 'lib/util.mjs'), '// changed\n')],
  ['an added file', (dir: string) => fs.writeFileSync(path.join(dir, 'extra.mjs'), 'export {};\n')],
  ['a changed mode', (dir: string) => fs.chmodSync(path.join(dir, 'index.mjs'), 0o755)],
  ['a renamed file', (dir: string) => fs.renameSync(path.join(dir, 'lib/util.mjs'), path.join(dir, 'lib/utils.mjs'))],
])('%s gives a different digest', async (_label, change) => {
  const base = await packageZip(tree(FILES), path.join(work, `base-${trees}.zip`));
  const changed = tree(FILES);
  change(changed);
  expect((await packageZip(changed, path.join(work, `changed-${trees}.zip`))).sha256).not.toBe(base.sha256);
});

test('include and exclude pick the files; the zip itself is never packaged into itself', async () => {
  const dir = tree({ ...FILES, 'index.test.mjs': 'test\n' });
  const zip = await packageZip(dir, path.join(dir, 'function.zip'), { exclude: ['**/*.test.mjs'] });
  expect(zip.files).not.toContain('index.test.mjs');
  const again = await packageZip(dir, path.join(dir, 'function.zip'), { exclude: ['**/*.test.mjs'] });
  expect(again.files).not.toContain('function.zip');
  expect(again.sha256).toBe(zip.sha256);
});

test('a symbolic link leading out of the tree, an empty tree and a missing folder are refused', async () => {
  const dir = tree(FILES);
  fs.symlinkSync('/etc/hostname', path.join(dir, 'leak'));
  await expect(packageZip(dir, path.join(work, 'leak.zip'))).rejects.toMatchObject({
    code: 'E_INPUT',
    message: expect.stringContaining('leak is a symbolic link leading outside'),
  });
  const empty = path.join(work, 'empty');
  fs.mkdirSync(empty);
  await expect(packageZip(empty, path.join(work, 'empty.zip'))).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(packageZip(path.join(work, 'nope'), path.join(work, 'nope.zip'))).rejects.toMatchObject({ code: 'E_INPUT' });
  expect(fs.existsSync(path.join(work, 'leak.zip'))).toBe(false);
});

describe('withVerifiedLayers', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const policy = { keys: [{ publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), name: 'layers' }] };

  async function signedLayers(): Promise<string> {
    const dir = tree({ 'nodejs/node_modules/shared/index.js': 'module.exports = 1;\n', 'bin/tool': 'tool\n' });
    await signDirectory(dir, new LocalSigner('layers', privateKey));
    return dir;
  }

  test('runs the handler once the layers match their signed manifest, checking once per cold start', async () => {
    const dir = await signedLayers();
    let calls = 0;
    const handler = withVerifiedLayers(
      async (event: { n: number }) => {
        calls++;
        return event.n * 2;
      },
      { dir, policy },
    );
    expect(await handler({ n: 2 }, {})).toBe(4);
    // A change after the cold-start check is not seen again: one check per execution environment.
    fs.appendFileSync(path.join(dir, 'bin/tool'), 'x');
    expect(await handler({ n: 3 }, {})).toBe(6);
    expect(calls).toBe(2);
  });

  test('refuses every invocation when a layer file was changed, naming it; the handler never runs', async () => {
    const dir = await signedLayers();
    fs.appendFileSync(path.join(dir, 'nodejs/node_modules/shared/index.js'), 'steal();\n');
    let ran = false;
    const handler = withVerifiedLayers(
      () => {
        ran = true;
        return 'ok';
      },
      { dir, policy },
    );
    for (let i = 0; i < 2; i++) {
      await expect(handler({}, {})).rejects.toMatchObject({
        code: 'E_SIGNATURE',
        message: `${dir} does not match its signed manifest: modified nodejs/node_modules/shared/index.js`,
      });
    }
    expect(ran).toBe(false);
  });
});
