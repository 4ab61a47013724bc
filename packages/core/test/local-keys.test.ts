import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createKey, GENERATED_ALGORITHMS, openSigner, publicKeyPathFor, SignetError } from '../src';
import { snapshot, useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();
const env = { SIGNET_PASSWORD: 'correct horse' };

describe('key generation', () => {
  it.each(Object.keys(GENERATED_ALGORITHMS))('generates %s as an encrypted PKCS#8 PEM with mode 0600 and a .pub', async (algorithm) => {
    const keyPath = path.join(tmp(), 'signing.key');
    const pem = await createKey(`file:${keyPath}`, { algorithm, env });
    expect(fs.statSync(keyPath).mode & 0o777).toBe(0o600);
    const privatePem = fs.readFileSync(keyPath, 'utf8');
    expect(privatePem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    expect(fs.readFileSync(path.join(tmp(), 'signing.pub'), 'utf8')).toBe(pem);
    // The file decrypts with the passphrase and is the key the .pub describes.
    const key = crypto.createPrivateKey({ key: privatePem, passphrase: env.SIGNET_PASSWORD });
    expect(crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' })).toBe(pem);
    expect(fs.readdirSync(tmp()).sort()).toEqual(['signing.key', 'signing.pub']);
  });

  it('never overwrites without force, and writes neither file when refusing', async () => {
    const keyPath = path.join(tmp(), 'signing.key');
    await createKey(keyPath, { env });
    const before = snapshot(tmp());
    await expect(createKey(keyPath, { env })).rejects.toMatchObject({ code: 'E_EXISTS' });
    expect(snapshot(tmp())).toEqual(before);
    // Only the .pub present is refused too: the pair must not be split.
    fs.rmSync(keyPath);
    await expect(createKey(keyPath, { env })).rejects.toMatchObject({ code: 'E_EXISTS' });
    expect(fs.existsSync(keyPath)).toBe(false);
  });

  it('replaces an existing pair with force', async () => {
    const keyPath = path.join(tmp(), 'signing.key');
    const first = await createKey(keyPath, { env });
    const second = await createKey(keyPath, { env, force: true });
    expect(second).not.toBe(first);
    expect(fs.readFileSync(publicKeyPathFor(keyPath), 'utf8')).toBe(second);
  });

  it('needs a passphrase source, and an empty one writes an unencrypted key with a warning', async () => {
    const keyPath = path.join(tmp(), 'signing.key');
    await expect(createKey(keyPath, { env: {} })).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringContaining('SIGNET_PASSWORD'),
    });
    expect(fs.existsSync(keyPath)).toBe(false);
    const warnings: string[] = [];
    await createKey(keyPath, { env: { SIGNET_PASSWORD: '' }, onWarning: (w) => warnings.push(w) });
    expect(fs.readFileSync(keyPath, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(warnings).toHaveLength(1);
  });

  it('refuses an algorithm it cannot generate', async () => {
    await expect(createKey(path.join(tmp(), 'k.key'), { env, algorithm: 'dsa-1024' })).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  it('names the public key path as cosign does', () => {
    expect(publicKeyPathFor('a/signing.key')).toBe('a/signing.pub');
    expect(publicKeyPathFor('release.pem')).toBe('release.pem.pub');
  });
});

describe('opening local keys', () => {
  it('asks for the passphrase through the prompt when SIGNET_PASSWORD is unset', async () => {
    const keyPath = path.join(tmp(), 'signing.key');
    await createKey(keyPath, { env });
    const questions: string[] = [];
    const signer = await openSigner(keyPath, {
      env: {},
      promptPassphrase: async (q) => {
        questions.push(q);
        return env.SIGNET_PASSWORD;
      },
    });
    expect(questions).toEqual([`Passphrase for file:${keyPath}: `]);
    expect(signer.algorithm).toBe('ecdsa-p256-sha256');
    expect(signer.keyId).toBe(`file:${keyPath}`);
  });

  it('refuses a wrong passphrase without echoing it', async () => {
    const keyPath = path.join(tmp(), 'signing.key');
    await createKey(keyPath, { env });
    const error = await openSigner(keyPath, { env: { SIGNET_PASSWORD: 'hunter2-wrong' } }).catch((e) => e);
    expect(error).toBeInstanceOf(SignetError);
    expect(error.code).toBe('E_KEY');
    expect(error.message).toContain('wrong passphrase');
    expect(JSON.stringify({ message: error.message, cause: String(error.cause) })).not.toContain('hunter2-wrong');
  });

  it('refuses an encrypted key with no passphrase source', async () => {
    const keyPath = path.join(tmp(), 'signing.key');
    await createKey(keyPath, { env });
    await expect(openSigner(keyPath, { env: {} })).rejects.toMatchObject({
      code: 'E_KEY',
      message: expect.stringContaining('SIGNET_PASSWORD'),
    });
  });

  it('reports a missing key file as E_KEY_NOT_FOUND and a public key as unusable for signing', async () => {
    await expect(openSigner(path.join(tmp(), 'nope.key'), { env })).rejects.toMatchObject({ code: 'E_KEY_NOT_FOUND' });
    const keyPath = path.join(tmp(), 'signing.key');
    await createKey(keyPath, { env });
    await expect(openSigner(publicKeyPathFor(keyPath), { env })).rejects.toMatchObject({
      code: 'E_KEY',
      message: expect.stringContaining('public key'),
    });
  });

  it('reads env: keys and warns when a key is unencrypted', async () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const warnings: string[] = [];
    const signer = await openSigner('env:RELEASE_KEY', {
      env: { RELEASE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
      onWarning: (w) => warnings.push(w),
    });
    expect(signer.keyId).toBe('env:RELEASE_KEY');
    expect(warnings[0]).toContain('not encrypted');
    await expect(openSigner('env:UNSET_VARIABLE', { env: {} })).rejects.toMatchObject({ code: 'E_KEY_NOT_FOUND' });
  });

  it('refuses cosign-format keys with a message saying what to use', async () => {
    const keyPath = path.join(tmp(), 'cosign.key');
    fs.writeFileSync(keyPath, '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n');
    await expect(openSigner(keyPath, { env })).rejects.toMatchObject({ code: 'E_KEY', message: expect.stringContaining('cosign') });
  });

  it.each([
    ['EC P-256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ecdsa-p256-sha256'],
    ['EC P-384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ecdsa-p384-sha384'],
    ['Ed25519', ['-algorithm', 'ED25519'], 'ed25519'],
    ['RSA 3072', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], 'rsa-pkcs1v15-sha256'],
    ['RSA-PSS', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'], 'rsa-pss-sha256'],
    [
      'encrypted EC',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes256', '-pass', 'pass:correct horse'],
      'ecdsa-p256-sha256',
    ],
  ])('opens a key made by openssl genpkey (%s)', async (_name, args, algorithm) => {
    const keyPath = path.join(tmp(), 'openssl.pem');
    execFileSync('openssl', ['genpkey', ...args, '-out', keyPath], { stdio: 'pipe' });
    const signer = await openSigner(keyPath, { env });
    expect(signer.algorithm).toBe(algorithm);
  });
});
