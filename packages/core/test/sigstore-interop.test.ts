import { execFileSync } from 'node:child_process';
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dsse } from '@sigstore/core';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  type Bundle,
  createStatement,
  emptyTrustedRoot,
  LocalSigner,
  publicKeyPem,
  serializeBundle,
  signArtifact,
  signStatement,
} from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

/** @sigstore/verify used directly, with nothing of Signet's in the path. */
function sigstoreVerify(bundle: Bundle, artifact: Buffer, publicKey: KeyObject): void {
  const trust = toTrustMaterial(emptyTrustedRoot(), () => ({ publicKey, validFor: () => true }));
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle, artifact));
}

/** `openssl` checks the raw signature against the exported public key. */
function opensslVerify(publicKey: KeyObject, signed: Buffer, signature: Buffer, algorithm: string): boolean {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'key.pub'), publicKeyPem(publicKey));
  fs.writeFileSync(path.join(dir, 'data'), signed);
  fs.writeFileSync(path.join(dir, 'sig'), signature);
  const args =
    algorithm === 'ed25519'
      ? ['pkeyutl', '-verify', '-pubin', '-inkey', 'key.pub', '-rawin', '-in', 'data', '-sigfile', 'sig']
      : [
          'dgst',
          `-${algorithm.match(/sha\d+$/)?.[0] ?? 'sha256'}`,
          ...(algorithm.startsWith('rsa-pss') ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:-2'] : []),
          '-verify',
          'key.pub',
          '-signature',
          'sig',
          'data',
        ];
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const CASES: [string, () => crypto.KeyPairKeyObjectResult, { message: boolean; dsse: boolean }][] = [
  // Which bundles the pinned @sigstore/verify can check by itself; Signet verifies all of them.
  ['ECDSA P-256', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), { message: true, dsse: true }],
  ['ECDSA P-384', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }), { message: true, dsse: false }],
  ['RSA PKCS#1 v1.5', () => crypto.generateKeyPairSync('rsa', { modulusLength: 3072 }), { message: true, dsse: true }],
  // A key typed RSASSA-PSS tells OpenSSL the padding; a plain RSA key signing PSS (as KMS keys do) would not verify.
  ['RSA-PSS', () => crypto.generateKeyPairSync('rsa-pss', { modulusLength: 2048 }), { message: true, dsse: true }],
  ['Ed25519', () => crypto.generateKeyPairSync('ed25519'), { message: false, dsse: true }],
];

describe.each(CASES)('%s', (_name, generate, sigstoreAccepts) => {
  const { privateKey, publicKey } = generate();
  const signer = new LocalSigner('k', privateKey);
  const artifact = Buffer.from('the artifact');

  it(`message signature: openssl verifies it; @sigstore/verify ${sigstoreAccepts.message ? 'accepts' : 'rejects'} it on its own`, async () => {
    const bundle = await signArtifact({ bytes: artifact }, signer);
    const json = serializeBundle(bundle) as { messageSignature: { signature: string } };
    expect(opensslVerify(publicKey, artifact, Buffer.from(json.messageSignature.signature, 'base64'), signer.algorithm)).toBe(true);
    if (sigstoreAccepts.message) expect(() => sigstoreVerify(bundle, artifact, publicKey)).not.toThrow();
    else expect(() => sigstoreVerify(bundle, artifact, publicKey)).toThrow(/signature verification failed/);
  });

  it(`DSSE: openssl verifies the signature over the PAE; @sigstore/verify ${sigstoreAccepts.dsse ? 'accepts' : 'rejects'} it on its own`, async () => {
    const digest = crypto.createHash('sha256').update(artifact).digest('hex');
    const bundle = await signStatement(createStatement([{ name: 'a', digest: { sha256: digest } }], 'https://example.com/p', {}), signer);
    if (bundle.content.$case !== 'dsseEnvelope') throw new Error('expected DSSE');
    const envelope = bundle.content.dsseEnvelope;
    const pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
    expect(opensslVerify(publicKey, pae, envelope.signatures[0]?.sig as Buffer, signer.algorithm)).toBe(true);
    if (sigstoreAccepts.dsse) expect(() => sigstoreVerify(bundle, artifact, publicKey)).not.toThrow();
    else expect(() => sigstoreVerify(bundle, artifact, publicKey)).toThrow(/signature verification failed/);
  });
});
