// A TypeScript project that depends on @signet/core as published, compiled with `strict` and
// without `skipLibCheck`: every declaration core ships, and every one it pulls in from its
// dependencies, must type-check there.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { npmAsync, npmEnv, pack, publishedPackage, ROOT } from './support/published';
import { type RegistryMirror, startRegistryMirror } from './support/registry-mirror';

const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

const CONSUMER = `import fs from 'node:fs';
import {
  createVerifier,
  isSignetError,
  openSigner,
  type Policy,
  parseBundle,
  type SignOptions,
  SignetError,
  signArtifact,
  type Verified,
  type Witness,
} from '@signet/core';

export async function release(file: string, keyRef: string, witnesses: Witness[]): Promise<string> {
  const options: SignOptions = { tlogUpload: false, witnesses };
  const bundle = await signArtifact({ path: file }, await openSigner(keyRef), options);
  return JSON.stringify(bundle);
}

export async function check(file: string, bundleFile: string, publicKey: string): Promise<Verified> {
  const policy: Policy = { keys: [{ publicKey, name: 'release.pub' }] };
  const bundle = parseBundle(JSON.parse(fs.readFileSync(bundleFile, 'utf8')));
  try {
    return await createVerifier({ policy }).verify(bundle, { path: file });
  } catch (error) {
    if (isSignetError(error)) throw new SignetError({ code: error.code, message: error.message, cause: error });
    throw error;
  }
}
`;

let mirror: RegistryMirror;
let work: string;
beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-ts-consumer-'));
  mirror = await startRegistryMirror();
  const core = publishedPackage('@signet/core');
  mirror.add(core.manifest, pack(core.dir, work).tarball);
});
afterAll(async () => {
  await mirror?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('a strict consumer without skipLibCheck compiles against @signet/core with no error', async () => {
  const project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  const nodeTypes = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string })
    .version;
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  fs.writeFileSync(path.join(work, 'npmrc'), '');
  await npmAsync(
    ['install', '@signet/core', `@types/node@${nodeTypes}`],
    project,
    npmEnv({
      npm_config_registry: mirror.url,
      npm_config_userconfig: path.join(work, 'npmrc'),
      npm_config_cache: path.join(work, 'npm-cache'),
    }),
  );
  fs.writeFileSync(path.join(project, 'consumer.ts'), CONSUMER);
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
      },
      files: ['consumer.ts'],
    }),
  );
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [TSC, '-p', project], { cwd: project, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: `${stdout}${stderr}` }),
    );
  });
  expect(result.output).toBe('');
  expect(result.code).toBe(0);
}, 180_000);
