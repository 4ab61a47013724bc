import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { verifyBundle } from '@signet/test-support';
import {
  artifactFromArgument,
  createStatement,
  IN_MEMORY_LIMIT,
  LocalSigner,
  type Policy,
  parseBundle,
  publicKeyPem,
  type SignatureAlgorithm,
  SignetError,
  serializeBundle,
  signArtifact,
  signStatement,
} from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

const KEYS: [string, () => crypto.KeyPairKeyObjectResult, SignatureAlgorithm][] = [
  ['ECDSA P-256', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ecdsa-p256-sha256'],
  ['ECDSA P-384', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'ecdsa-p384-sha384'],
  ['ECDSA P-521', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' }), 'ecdsa-p521-sha512'],
  ['Ed25519', () => crypto.generateKeyPairSync('ed25519'), 'ed25519'],
  ['RSA PKCS#1 v1.5', () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }), 'rsa-pkcs1v15-sha256'],
  ['RSA-PSS', () => crypto.generateKeyPairSync('rsa-pss', { modulusLength: 2048 }), 'rsa-pss-sha256'],
];

function keyPolicy(...keys: KeyObject[]): Policy {
  return { keys: keys.map((key, i) => ({ publicKey: publicKeyPem(key), name: `key-${i}` })) };
}

/** Round-trips through JSON, as a bundle written to disk and read back would. */
function viaJson(bundle: ReturnType<typeof parseBundle>) {
  return parseBundle(JSON.stringify(serializeBundle(bundle)));
}

/** The bundle with the last byte of its message signature flipped. */
function corrupted(bundle: ReturnType<typeof parseBundle>) {
  const json = serializeBundle(bundle) as { messageSignature: { signature: string } };
  const sig = Buffer.from(json.messageSignature.signature, 'base64');
  sig.writeUInt8((sig.at(-1) ?? 0) ^ 1, sig.length - 1);
  json.messageSignature.signature = sig.toString('base64');
  return parseBundle(json);
}

describe.each(KEYS)('%s', (_name, generate, algorithm) => {
  const { privateKey, publicKey } = generate();
  const signer = new LocalSigner('test-key', privateKey);
  const other = generate().publicKey;

  it('signs with the algorithm the key dictates', () => {
    expect(signer.algorithm).toBe(algorithm);
  });

  it('signs a file and verifies it by path, bytes and digest', async () => {
    const file = path.join(tmp(), 'artifact.bin');
    const data = crypto.randomBytes(5 * 1024 * 1024 + 3);
    fs.writeFileSync(file, data);
    const bundle = viaJson(await signArtifact({ path: file }, signer));
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.content.$case).toBe('messageSignature');

    const byPath = await verifyBundle(bundle, { path: file }, keyPolicy(publicKey));
    expect(byPath.signer).toEqual({ kind: 'key', name: 'key-0', fingerprint: expect.any(String) });
    expect(byPath.timestamps).toEqual([]);
    await expect(verifyBundle(bundle, { bytes: data }, keyPolicy(publicKey))).resolves.toBeDefined();

    const hash = algorithm === 'ed25519' ? 'sha256' : (algorithm.match(/sha\d+$/)?.[0] as string);
    const digestArg = `${hash}:${crypto.createHash(hash).update(data).digest('hex')}`;
    if (algorithm === 'ed25519') {
      // Ed25519 signs the message itself: a digest alone cannot be checked.
      await expect(verifyBundle(bundle, artifactFromArgument(digestArg), keyPolicy(publicKey))).rejects.toMatchObject({ code: 'E_INPUT' });
    } else {
      await expect(verifyBundle(bundle, artifactFromArgument(digestArg), keyPolicy(publicKey))).resolves.toBeDefined();
    }
  });

  it('streams a file too large to hold in memory: signs its digest, verifies by path, refuses a tampered copy', async () => {
    const file = path.join(tmp(), 'large.bin');
    const data = Buffer.alloc(IN_MEMORY_LIMIT + 1024 * 1024, 'signet');
    fs.writeFileSync(file, data);
    const bundle = viaJson(await signArtifact({ path: file }, signer));
    await expect(verifyBundle(bundle, { path: file }, keyPolicy(publicKey))).resolves.toBeDefined();
    // A corrupted signature fails the streamed (digest) verification itself…
    await expect(verifyBundle(corrupted(bundle), { path: file }, keyPolicy(publicKey))).rejects.toMatchObject({ code: 'E_SIGNATURE' });
    await expect(verifyBundle(bundle, { path: file }, keyPolicy(other))).rejects.toMatchObject({ code: 'E_SIGNATURE' });
    // …and a changed byte fails before it.
    fs.writeFileSync(file, Buffer.concat([data.subarray(0, -1), Buffer.from('!')]));
    await expect(verifyBundle(bundle, { path: file }, keyPolicy(publicKey))).rejects.toMatchObject({ code: 'E_SIGNATURE' });
  });

  it('refuses a tampered artifact, a wrong key and a corrupted signature', async () => {
    const data = Buffer.from('release 1.0.0');
    const bundle = await signArtifact({ bytes: data }, signer);
    await expect(verifyBundle(bundle, { bytes: Buffer.from('release 1.0.1') }, keyPolicy(publicKey))).rejects.toMatchObject({
      code: 'E_SIGNATURE',
    });
    await expect(verifyBundle(bundle, { bytes: data }, keyPolicy(other))).rejects.toMatchObject({ code: 'E_SIGNATURE' });
    await expect(verifyBundle(corrupted(bundle), { bytes: data }, keyPolicy(publicKey))).rejects.toMatchObject({ code: 'E_SIGNATURE' });
  });

  it('signs an in-toto statement as DSSE and checks the artifact is a subject', async () => {
    const data = Buffer.from('app.js contents');
    const digest = crypto.createHash('sha256').update(data).digest('hex');
    const statement = createStatement([{ name: 'app.js', digest: { sha256: digest } }], 'https://cyclonedx.org/bom', {
      bomFormat: 'CycloneDX',
    });
    const bundle = viaJson(await signStatement(statement, signer));
    expect(bundle.content.$case).toBe('dsseEnvelope');

    const sbom: Policy = { ...keyPolicy(publicKey), predicateTypes: ['https://cyclonedx.org/bom'] };
    const verified = await verifyBundle(bundle, { bytes: data }, sbom);
    expect(verified.statement).toEqual(statement);
    expect(verified.subject).toEqual(statement.subject[0]);
    await expect(verifyBundle(bundle, artifactFromArgument(`sha256:${digest}`), sbom)).resolves.toBeDefined();
    await expect(verifyBundle(bundle, { bytes: Buffer.from('another file') }, sbom)).rejects.toMatchObject({
      code: 'E_SIGNATURE',
      message: expect.stringContaining('not a subject'),
    });
    await expect(verifyBundle(bundle, { bytes: data }, { ...sbom, keys: keyPolicy(other).keys })).rejects.toMatchObject({
      code: 'E_SIGNATURE',
    });
    // An SBOM is not a release signature: it counts only where its type is asked for.
    await expect(verifyBundle(bundle, { bytes: data }, keyPolicy(publicKey))).rejects.toMatchObject({ code: 'E_POLICY' });
  });
});

describe('policy', () => {
  const current = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const next = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from('artifact');
  const day = 24 * 3600 * 1000;

  it('accepts any of several keys, whichever signed (rotation)', async () => {
    for (const pair of [current, next]) {
      const bundle = await signArtifact({ bytes: data }, new LocalSigner('k', pair.privateKey));
      const verified = await verifyBundle(bundle, { bytes: data }, keyPolicy(current.publicKey, next.publicKey));
      expect(verified.signer).toMatchObject({ name: pair === current ? 'key-0' : 'key-1' });
    }
    const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bundle = await signArtifact({ bytes: data }, new LocalSigner('k', stranger.privateKey));
    await expect(verifyBundle(bundle, { bytes: data }, keyPolicy(current.publicKey, next.publicKey))).rejects.toMatchObject({
      code: 'E_SIGNATURE',
      message: expect.stringContaining('any of the 2 trusted keys'),
    });
  });

  it('refuses a key outside its validity window and accepts it inside', async () => {
    const bundle = await signArtifact({ bytes: data }, new LocalSigner('k', current.privateKey));
    const pem = publicKeyPem(current.publicKey);
    const expired: Policy = { keys: [{ publicKey: pem, name: 'old', validUntil: new Date(Date.now() - day) }] };
    await expect(verifyBundle(bundle, { bytes: data }, expired)).rejects.toMatchObject({
      code: 'E_POLICY',
      message: expect.stringContaining('old is trusted only from'),
    });
    const notYet: Policy = { keys: [{ publicKey: pem, validFrom: new Date(Date.now() + day) }] };
    await expect(verifyBundle(bundle, { bytes: data }, notYet)).rejects.toMatchObject({ code: 'E_POLICY' });
    const inWindow: Policy = { keys: [{ publicKey: pem, validFrom: new Date(Date.now() - day), validUntil: new Date(Date.now() + day) }] };
    await expect(verifyBundle(bundle, { bytes: data }, inWindow)).resolves.toBeDefined();
  });

  it('checks the predicate type of an attestation', async () => {
    const digest = crypto.createHash('sha256').update(data).digest('hex');
    const statement = createStatement([{ digest: { sha256: digest } }], 'https://spdx.dev/Document', { spdxVersion: 'SPDX-2.3' });
    const bundle = await signStatement(statement, new LocalSigner('k', current.privateKey));
    const policy = { ...keyPolicy(current.publicKey), predicateTypes: ['https://cyclonedx.org/bom'] };
    await expect(verifyBundle(bundle, { bytes: data }, policy)).rejects.toMatchObject({ code: 'E_POLICY' });
    await expect(
      verifyBundle(bundle, { bytes: data }, { ...policy, predicateTypes: ['https://spdx.dev/Document'] }),
    ).resolves.toBeDefined();
  });

  it('refuses to verify without something to trust, and a key bundle against identities', async () => {
    const bundle = await signArtifact({ bytes: data }, new LocalSigner('k', current.privateKey));
    await expect(verifyBundle(bundle, { bytes: data }, {})).rejects.toMatchObject({ code: 'E_POLICY' });
    await expect(
      verifyBundle(bundle, { bytes: data }, { identities: [{ subject: 'me@example.com', issuer: 'https://accounts.example.com' }] }),
    ).rejects.toMatchObject({ code: 'E_POLICY' });
  });
});

describe('artifactFromArgument', () => {
  it('reads paths and digests, and refuses a digest of the wrong length', () => {
    expect(artifactFromArgument('dist/app.js')).toEqual({ path: 'dist/app.js' });
    const hex = 'ab'.repeat(32);
    expect(artifactFromArgument(`sha256:${hex}`)).toEqual({ digest: { algorithm: 'sha256', value: Buffer.from(hex, 'hex') } });
    expect(() => artifactFromArgument('sha256:abcd')).toThrow(SignetError);
  });
});
