// Weak keys and algorithms. A 512-bit RSA key is factored in hours; a signature by it proves
// nothing. Every key a verification trusts (given with --key, named in a policy) is held to
// Sigstore's algorithm registry: ECDSA P-256/384/521, RSA of 2048 bits or more, Ed25519.
import crypto from 'node:crypto';
import { publicKeyPem } from '@signet/core';
import { signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();

/** art.txt signed by this key (with OpenSSL: Signet refuses to sign with such keys), its public key as key.pub. */
function signedBy(dir: string, pair: crypto.KeyPairKeyObjectResult): void {
  const data = Buffer.from('a release');
  writeFile(dir, 'art.txt', data);
  writeFile(dir, 'key.pub', publicKeyPem(pair.publicKey));
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: crypto.createHash('sha256').update(data).digest('base64') },
      signature: crypto.sign('sha256', data, pair.privateKey).toString('base64'),
    },
  };
  writeFile(dir, 'art.txt.sigstore.json', JSON.stringify(bundle));
}

describe.each([
  ['RSA-512', () => crypto.generateKeyPairSync('rsa', { modulusLength: 512 }), /512 bits, too weak/],
  ['RSA-1024', () => crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }), /1024 bits, too weak/],
  ['ECDSA on secp256k1', () => crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), /secp256k1/],
  ['DSA', () => crypto.generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }), /a dsa key/],
] as const)('%s', (_name, generate, message) => {
  it('signet verify --key: refused, E_KEY, exit 2 (it used to verify)', async () => {
    const dir = tmp();
    signedBy(dir, generate());
    const result = await signetAsync(['verify', 'art.txt', '--key', 'key.pub'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_KEY', message: expect.stringMatching(message) });
  });

  it('a gate policy naming it: refused where the policy names it, exit 2', async () => {
    const dir = tmp();
    signedBy(dir, generate());
    writeFile(dir, 'policy.yaml', 'version: 1\nkeys:\n  weak: { publicKey: key.pub }\nrules:\n  - { kind: file, signers: [weak] }\n');
    const result = await signetAsync(['gate', '--policy', 'policy.yaml', 'art.txt'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_INPUT',
      message: expect.stringMatching(/^policy\.yaml:3:\d+: keys\.weak\.publicKey: .*/),
    });
  });
});

it('RSA-2048 still verifies (the control)', async () => {
  const dir = tmp();
  signedBy(dir, crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }));
  expect((await signetAsync(['verify', 'art.txt', '--key', 'key.pub'], { cwd: dir })).status).toBe(0);
});
