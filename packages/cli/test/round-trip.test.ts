// Keys made by `signet key generate` sign with `signet sign` and verify with `signet verify`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  generateKey,
  readJson,
  sha256Hex,
  signet,
  signetAsync,
  signetOk,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  writeFile,
} from '@signet/test-support';

const tmp = useTempDir();

const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

function fileMode(dir: string, name: string): number {
  return fs.statSync(path.join(dir, name)).mode & 0o777;
}

describe('key generate → sign → verify, for each algorithm', () => {
  test.each([
    ['default (ecdsa-p256)', undefined, 'sha256'],
    ['ecdsa-p384', 'ecdsa-p384', 'sha384'],
    ['ed25519', 'ed25519', 'sha256'],
    ['rsa-3072', 'rsa-3072', 'sha256'],
    ['rsa-pss-3072', 'rsa-pss-3072', 'sha256'],
  ] as const)('%s', (_label, algorithm, hash) => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing', algorithm);
    expect(fileMode(dir, 'signing.key')).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, 'signing.key'), 'utf8')).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    const publicPem = fs.readFileSync(path.join(dir, pub), 'utf8');
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    // `key public` prints exactly what `key generate` wrote beside the key
    expect(signetOk(['key', 'public', '--key', key], { cwd: dir }).stdout).toBe(publicPem);

    const content = Buffer.from('the release, version 1.0.0\n');
    writeFile(dir, 'release.tgz', content);
    const signed = signetOk(['sign', 'release.tgz', '--key', key], { cwd: dir });
    expect(signed.stderr).toContain('wrote release.tgz.sigstore.json');

    const bundle = readJson(dir, 'release.tgz.sigstore.json');
    expect(bundle.mediaType).toBe(BUNDLE_V03);
    const material = bundle.verificationMaterial as { publicKey?: { hint?: string } };
    expect(typeof material.publicKey?.hint).toBe('string');
    expect(material.publicKey?.hint).not.toBe('');
    const message = bundle.messageSignature as { signature?: string; messageDigest?: { algorithm?: string; digest?: string } };
    expect(typeof message.signature).toBe('string');
    expect(message.messageDigest?.algorithm).toBe(hash === 'sha384' ? 'SHA2_384' : 'SHA2_256');
    expect(Buffer.from(message.messageDigest?.digest ?? '', 'base64').toString('hex')).toBe(
      crypto.createHash(hash).update(content).digest('hex'),
    );

    const verified = signet(['verify', 'release.tgz', '--key', pub], { cwd: dir });
    expect(verified.stderr).toContain('Verified OK');
    expect(verified.status).toBe(0);

    // by digest, as a deploy step that has only the digest does it
    const digest = `${hash}:${crypto.createHash(hash).update(content).digest('hex')}`;
    const byDigest = signet(['verify', digest, '--bundle', 'release.tgz.sigstore.json', '--key', pub], { cwd: dir });
    if (algorithm === 'ed25519') {
      // Ed25519 signs the artifact itself, not a digest: the file is needed
      expect(byDigest.status).toBe(2);
      expect(singleErrorLine(byDigest.stderr).code).toBe('E_INPUT');
    } else {
      expect(byDigest.stderr).toContain('Verified OK');
      expect(byDigest.status).toBe(0);
      const other = `${hash}:${crypto.createHash(hash).update('something else').digest('hex')}`;
      const wrong = signet(['verify', other, '--bundle', 'release.tgz.sigstore.json', '--key', pub], { cwd: dir });
      expect(wrong.status).toBe(1);
      expect(singleErrorLine(wrong.stderr).code).toBe('E_SIGNATURE');
    }
  });
});

describe('sign', () => {
  test('the bundle hint is the key fingerprint: base64(sha256(SPKI DER))', () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    writeFile(dir, 'app.js', 'hello, signet\n');
    signetOk(['sign', 'app.js', '--key', key], { cwd: dir });
    const bundle = readJson(dir, 'app.js.sigstore.json') as { verificationMaterial: { publicKey: { hint: string } } };
    const spki = Buffer.from(
      fs
        .readFileSync(path.join(dir, pub), 'utf8')
        .replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s/g, ''),
      'base64',
    );
    expect(bundle.verificationMaterial.publicKey.hint).toBe(Buffer.from(sha256Hex(spki), 'hex').toString('base64'));
  });

  test('--bundle OUT writes the bundle there and nothing beside the artifact', () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    writeFile(dir, 'app.js', 'console.log(1)\n');
    fs.mkdirSync(path.join(dir, 'out'));
    signetOk(['sign', 'app.js', '--key', key, '--bundle', 'out/app.bundle.json'], { cwd: dir });
    expect(fs.existsSync(path.join(dir, 'out/app.bundle.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'app.js.sigstore.json'))).toBe(false);
    expect(readJson(dir, 'out/app.bundle.json').mediaType).toBe(BUNDLE_V03);
    signetOk(['verify', 'app.js', '--bundle', 'out/app.bundle.json', '--key', pub], { cwd: dir });
  });

  test('several artifacts at once: one bundle each, each verifies its own artifact only', () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    const names = ['a.js', 'b.css', 'sub/c.html'];
    for (const name of names) writeFile(dir, name, `content of ${name}\n`);
    const result = signetOk(['sign', ...names, '--key', key, '--json'], { cwd: dir });
    const printed = JSON.parse(result.stdout) as { ok: boolean; signed: { artifact: string; bundle: string }[] };
    expect(printed.ok).toBe(true);
    expect(printed.signed).toEqual(names.map((name) => ({ artifact: name, bundle: `${name}.sigstore.json` })));
    for (const name of names) {
      expect(fs.existsSync(path.join(dir, `${name}.sigstore.json`))).toBe(true);
      signetOk(['verify', name, '--key', pub], { cwd: dir });
    }
    // a.js's bundle does not vouch for b.css
    const crossed = signet(['verify', 'b.css', '--bundle', 'a.js.sigstore.json', '--key', pub], { cwd: dir });
    expect(crossed.status).toBe(1);
    expect(singleErrorLine(crossed.stderr).code).toBe('E_SIGNATURE');
  });

  test('an env:NAME key (a PEM in an environment variable) signs', () => {
    const dir = tmp();
    const { pub } = generateKey(dir, 'ci');
    const pem = fs.readFileSync(path.join(dir, 'ci.key'), 'utf8');
    fs.rmSync(path.join(dir, 'ci.key'));
    writeFile(dir, 'lambda.zip', 'PK zip bytes');
    signetOk(['sign', 'lambda.zip', '--key', 'env:SIGNET_TEST_SIGNING_KEY'], { cwd: dir, env: { SIGNET_TEST_SIGNING_KEY: pem } });
    signetOk(['verify', 'lambda.zip', '--key', pub], { cwd: dir });
  });

  test('a plain path means file:', () => {
    const dir = tmp();
    const { pub } = generateKey(dir, 'signing');
    writeFile(dir, 'x.bin', 'x');
    signetOk(['sign', 'x.bin', '--key', 'signing.key'], { cwd: dir });
    signetOk(['verify', 'x.bin', '--key', pub], { cwd: dir });
  });
});

describe('verify', () => {
  test('--json prints the result on stdout: ok, key signer, the digest', () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    const content = 'json please\n';
    writeFile(dir, 'data.txt', content);
    signetOk(['sign', 'data.txt', '--key', key], { cwd: dir });
    const result = signet(['verify', 'data.txt', '--key', pub, '--json'], { cwd: dir });
    expect(result.status).toBe(0);
    const printed = JSON.parse(result.stdout) as {
      ok: boolean;
      signer: { kind: string; name: string; fingerprint: string };
      digests: Record<string, string>;
      bundle: string;
    };
    expect(printed.ok).toBe(true);
    expect(printed.signer.kind).toBe('key');
    expect(printed.signer.name).toBe(pub);
    expect(printed.bundle).toBe('data.txt.sigstore.json');
    expect(printed.digests.sha256).toBe(sha256Hex(Buffer.from(content)));
  });

  test("the key's fingerprint is sha256:HEX of its SPKI DER, the same in text and in --json", () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    writeFile(dir, 'data.txt', 'fingerprint\n');
    signetOk(['sign', 'data.txt', '--key', key], { cwd: dir });
    const spki = Buffer.from(
      fs
        .readFileSync(path.join(dir, pub), 'utf8')
        .replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s/g, ''),
      'base64',
    );
    const fingerprint = `sha256:${sha256Hex(spki)}`;
    const text = signet(['verify', 'data.txt', '--key', pub], { cwd: dir });
    expect(text.stderr).toContain(`  signed by key ${pub} (${fingerprint})\n`);
    const json = JSON.parse(signet(['verify', 'data.txt', '--key', pub, '--json'], { cwd: dir }).stdout) as {
      signer: { fingerprint: string };
    };
    expect(json.signer.fingerprint).toBe(fingerprint);
  });

  test('key rotation: --key old.pub --key new.pub accepts either key, names the one that signed, and refuses a third', () => {
    const dir = tmp();
    const old = generateKey(dir, 'old');
    const next = generateKey(dir, 'new', 'ed25519');
    const other = generateKey(dir, 'other');
    for (const [file, signer] of [
      ['by-old.txt', old],
      ['by-new.txt', next],
      ['by-other.txt', other],
    ] as const) {
      writeFile(dir, file, `${file}\n`);
      signetOk(['sign', file, '--key', signer.key], { cwd: dir });
    }
    for (const [file, signer] of [
      ['by-old.txt', old.pub],
      ['by-new.txt', next.pub],
    ] as const) {
      const result = signet(['verify', file, '--key', old.pub, '--key', next.pub, '--json'], { cwd: dir });
      expect(result.status).toBe(0);
      expect((JSON.parse(result.stdout) as { signer: { name: string } }).signer.name).toBe(signer);
    }
    const third = signet(['verify', 'by-other.txt', '--key', old.pub, '--key', next.pub], { cwd: dir });
    expect(third.status).toBe(1);
    expect(singleErrorLine(third.stderr).code).toBe('E_SIGNATURE');
  });
});

describe('key public', () => {
  test('--output writes the PEM to a file', () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    signetOk(['key', 'public', '--key', key, '--output', 'exported.pub'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'exported.pub'), 'utf8')).toBe(fs.readFileSync(path.join(dir, pub), 'utf8'));
  });
});

describe('key generate', () => {
  test('refuses to overwrite without --force: exit 2, E_EXISTS, neither file changed', () => {
    const dir = tmp();
    generateKey(dir, 'signing');
    const before = snapshotDir(dir);
    const result = signet(['key', 'generate', '--key', 'file:signing.key'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_EXISTS');
    expect(snapshotDir(dir)).toEqual(before);
  });

  test('refuses when only the .pub exists, and writes no private key', () => {
    const dir = tmp();
    writeFile(dir, 'signing.pub', 'a public key someone relies on\n');
    const before = snapshotDir(dir);
    const result = signet(['key', 'generate', '--key', 'file:signing.key'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_EXISTS');
    expect(snapshotDir(dir)).toEqual(before);
  });

  test('--force replaces both files with a new key pair', () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    const oldPrivate = fs.readFileSync(path.join(dir, 'signing.key'));
    const oldPublic = fs.readFileSync(path.join(dir, pub));
    writeFile(dir, 'a.txt', 'signed with the old key\n');
    signetOk(['sign', 'a.txt', '--key', key], { cwd: dir });
    fs.copyFileSync(path.join(dir, pub), path.join(dir, 'old.pub'));

    signetOk(['key', 'generate', '--key', key, '--force'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'signing.key')).equals(oldPrivate)).toBe(false);
    expect(fs.readFileSync(path.join(dir, pub)).equals(oldPublic)).toBe(false);
    expect(fileMode(dir, 'signing.key')).toBe(0o600);
    expect(signetOk(['key', 'public', '--key', key], { cwd: dir }).stdout).toBe(fs.readFileSync(path.join(dir, pub), 'utf8'));

    // the old signature no longer verifies with the new public key, and still does with the old one
    expect(signet(['verify', 'a.txt', '--key', pub], { cwd: dir }).status).toBe(1);
    signetOk(['verify', 'a.txt', '--key', 'old.pub'], { cwd: dir });
  });

  test('leaves no temporary files behind', () => {
    const dir = tmp();
    generateKey(dir, 'signing');
    expect(fs.readdirSync(dir).sort()).toEqual(['signing.key', 'signing.pub']);
  });

  test('every --algorithm the command offers in its help generates a key', async () => {
    const dir = tmp();
    const help = signetOk(['key', 'generate', '--help'], { cwd: dir }).stdout;
    const choices = /one of: (.*?)(?:; default: .*?)?\)/.exec(help.replace(/\s+/g, ' '))?.[1];
    expect(choices).toBeDefined();
    const algorithms = (choices ?? '').split(', ');
    expect(algorithms).toContain('ecdsa-p256');
    // side by side: RSA key generation is slow
    const results = await Promise.all(
      algorithms.map((algorithm) =>
        signetAsync(['key', 'generate', '--key', `file:${algorithm}.key`, '--algorithm', algorithm], { cwd: dir }),
      ),
    );
    const refused = results.flatMap((result, i) => (result.status === 0 ? [] : [`${algorithms[i]}: ${result.stderr.trim()}`]));
    expect(refused).toEqual([]);
    for (const algorithm of algorithms) {
      expect(fs.existsSync(path.join(dir, `${algorithm}.key`)) && fs.existsSync(path.join(dir, `${algorithm}.pub`))).toBe(true);
    }
  });
});
