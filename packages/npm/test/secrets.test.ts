// What `signet npm publish` finds in a tarball that real `npm pack` made: each kind of key or
// credential by its name and content, and nothing in the files a package is meant to hold.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { secretFiles } from '../src/secrets';
import { tarballFiles } from '../src/tarball';

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-npm-secrets-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const LONG = `${'deeply/nested/'.repeat(9)}fixture.pem`;

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'leaky', version: '1.0.0' }),
  'index.js': 'module.exports = 1;\n',
  'README.md': 'Keys look like -----BEGIN PUBLIC KEY----- blocks.\n',
  'keys/release.pub': '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n',
  'keys/deploy.pem': 'subject=CN=x\n-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n',
  'signing.key': 'not even PEM\n',
  'certs/store.p12': 'binary',
  'ssh/id_ed25519': 'opaque\n',
  'ssh/id_ed25519.pub': 'ssh-ed25519 AAAA\n',
  '.env': 'export DB_PASSWORD="hunter2"\n',
  '.env.production': '# no values\nEMPTY=\nQUOTED=""\n',
  '.env.example': 'DB_PASSWORD=changeme\n',
  [LONG]: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n',
  // Code that detects keys names their BEGIN line; it holds no key.
  'lib/detect.js': "const ENCRYPTED = '-----BEGIN ENCRYPTED PRIVATE KEY-----';\nif (pem.includes('PRIVATE KEY-----')) refuse();\n",
  // A key inside a JSON string, its line breaks escaped.
  'config/service-account.json': JSON.stringify({ private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n' }),
};

test('finds every kind of secret npm packed, by path, and names what each is', () => {
  const dir = path.join(work, 'leaky');
  for (const [file, content] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: dir, encoding: 'utf8' });
  expect(packed.status).toBe(0);
  const tarball = path.join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0]?.filename as string);
  const files = tarballFiles(fs.readFileSync(tarball));
  // Every file npm packed, the long path (a pax record) included, with its bytes.
  expect(files.map((file) => file.path).sort()).toEqual(Object.keys(FILES).sort());
  expect(files.find((file) => file.path === 'index.js')?.data.toString()).toBe(FILES['index.js']);

  expect(Object.fromEntries(secretFiles(files).map((file) => [file.path, file.what]))).toEqual({
    'keys/deploy.pem': 'a PEM private key',
    'signing.key': 'a .key file',
    'certs/store.p12': 'a PKCS#12 key store',
    'ssh/id_ed25519': 'an SSH private key',
    '.env': 'an .env file that sets values',
    [LONG]: 'a PEM private key',
    'config/service-account.json': 'a PEM private key',
  });
});

test('an .npmrc with a token written out is a secret; one that reads the token from the environment is not', () => {
  const npmrc = (text: string) => secretFiles([{ path: 'fixtures/.npmrc', data: Buffer.from(text) }]);
  expect(npmrc('//registry.npmjs.org/:_authToken=npm_abcdef\n')).toEqual([
    { path: 'fixtures/.npmrc', what: 'an .npmrc with a registry credential' },
  ]);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: npm's own ${VAR} syntax, written out
  expect(npmrc('//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nregistry=https://registry.npmjs.org/\n')).toEqual([]);
});
