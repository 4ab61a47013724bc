// Every algorithm Cloud KMS signs with, through the real SDK over gRPC and over REST, against
// the same emulator state: a message signature and a DSSE attestation each, verified by Signet,
// by openssl and (where its pinned version can) by @sigstore/verify with only the public key.
import crypto from 'node:crypto';
import {
  createStatement,
  type KeyProvider,
  parseKeyRef,
  type SignatureAlgorithm,
  type Signer,
  serializeBundle,
  signArtifact,
  signStatement,
} from '@signet/core';
import { opensslVerify, sigstoreVerify, verifyBundle } from '@signet/test-support';
import { createGcpKmsProvider } from '../src';
import { clientOptions, keyName, type Transport, uri, useEmulator } from './support';

const emulator = useEmulator();

/** Cloud KMS algorithm → what Signet reads it as, and the digest the service receives. */
const ALGORITHMS: [string, SignatureAlgorithm, 'sha256' | 'sha384' | 'sha512' | 'none'][] = [
  ['EC_SIGN_P256_SHA256', 'ecdsa-p256-sha256', 'sha256'],
  ['EC_SIGN_P384_SHA384', 'ecdsa-p384-sha384', 'sha384'],
  ['EC_SIGN_ED25519', 'ed25519', 'none'],
  ['RSA_SIGN_PKCS1_2048_SHA256', 'rsa-pkcs1v15-sha256', 'sha256'],
  ['RSA_SIGN_PKCS1_3072_SHA256', 'rsa-pkcs1v15-sha256', 'sha256'],
  ['RSA_SIGN_PKCS1_4096_SHA256', 'rsa-pkcs1v15-sha256', 'sha256'],
  ['RSA_SIGN_PKCS1_4096_SHA512', 'rsa-pkcs1v15-sha512', 'sha512'],
  ['RSA_SIGN_PSS_2048_SHA256', 'rsa-pss-sha256', 'sha256'],
  ['RSA_SIGN_PSS_3072_SHA256', 'rsa-pss-sha256', 'sha256'],
  ['RSA_SIGN_PSS_4096_SHA256', 'rsa-pss-sha256', 'sha256'],
  ['RSA_SIGN_PSS_4096_SHA512', 'rsa-pss-sha512', 'sha512'],
];

/**
 * What the pinned @sigstore/verify (3.x) cannot check, as the repository README records: RSA-PSS
 * signatures by a plain RSA key (which is what Cloud KMS publishes for PSS keys), Ed25519
 * message signatures, and DSSE signed with a hash other than the one it assumes for the key.
 * Asserted both ways, so the table stays true when that dependency moves.
 */
function sigstoreVerifies(algorithm: SignatureAlgorithm, kind: 'message' | 'dsse'): boolean {
  if (algorithm.startsWith('rsa-pss')) return false;
  if (algorithm === 'ed25519') return kind === 'dsse';
  if (kind === 'dsse') return algorithm === 'ecdsa-p256-sha256' || algorithm === 'rsa-pkcs1v15-sha256';
  return true;
}

const PREDICATE_TYPE = 'https://signet.dev/test/kms-gcp/v1';

beforeAll(async () => {
  await Promise.all(ALGORITHMS.map(([algorithm]) => emulator.seedKey(keyName(algorithm.toLowerCase().replace(/_/g, '-')), algorithm)));
});

function providerFor(transport: Transport): KeyProvider {
  return createGcpKmsProvider(clientOptions(emulator, transport));
}

describe.each<Transport>(['grpc', 'rest'])('over %s', (transport) => {
  test.each(ALGORITHMS)('%s: sign a blob and an attestation, verify them three ways', async (gcpAlgorithm, algorithm, hash) => {
    const id = gcpAlgorithm.toLowerCase().replace(/_/g, '-');
    const signer: Signer = await providerFor(transport).open(parseKeyRef(uri(id)));
    const publicKey = emulator.publicKeyPem(`${keyName(id)}/cryptoKeyVersions/1`);
    expect(signer.algorithm).toBe(algorithm);
    expect(signer.keyId).toBe(uri(id, 1));
    expect(await signer.publicKey()).toBe(publicKey);

    const artifact = crypto.randomBytes(4096);
    const signsBefore = emulator.calls('AsymmetricSign').length;
    const blob = await signArtifact({ bytes: artifact }, signer);
    const statement = createStatement(
      [{ name: 'artifact.bin', digest: { sha256: crypto.createHash('sha256').update(artifact).digest('hex') } }],
      PREDICATE_TYPE,
      { note: 'signed in Cloud KMS' },
    );
    const attestation = await signStatement(statement, signer);

    // Exactly one AsymmetricSign per signature, over this transport, carrying a digest of the
    // algorithm's length (never the artifact), except Ed25519, which signs the message itself.
    const signs = emulator.calls('AsymmetricSign').slice(signsBefore);
    expect(signs).toHaveLength(2);
    for (const call of signs) {
      expect(call.path.startsWith(transport === 'grpc' ? '/google.cloud.kms.v1.KeyManagementService/' : '/v1/projects/')).toBe(true);
      const body = call.body as { digest?: Record<string, string>; data?: string };
      if (hash === 'none') {
        expect(body.digest).toBeUndefined();
      } else {
        expect(Object.keys(body.digest ?? {}).filter((k) => k !== 'digest')).toEqual([hash]);
        expect(Buffer.from(body.digest?.[hash] ?? '', 'base64')).toHaveLength(crypto.createHash(hash).digest().length);
        expect(body.data).toBeUndefined();
      }
    }
    const [blobCall] = signs;
    if (hash === 'none') expect(Buffer.from((blobCall?.body as { data?: string } | undefined)?.data ?? '', 'base64')).toEqual(artifact);
    else expect(JSON.stringify(blobCall?.body)).not.toContain(artifact.subarray(0, 64).toString('base64').slice(0, 40));

    // The blob is a release signature; the attestation counts where its type is asked for.
    const policy = { keys: [{ publicKey }] };
    await expect(verifyBundle(blob, { bytes: artifact }, policy)).resolves.toMatchObject({ signer: { kind: 'key' } });
    await expect(verifyBundle(attestation, { bytes: artifact }, { ...policy, predicateTypes: [PREDICATE_TYPE] })).resolves.toMatchObject({
      statement: { predicateType: PREDICATE_TYPE },
    });

    const blobJson = serializeBundle(blob);
    const attestationJson = serializeBundle(attestation);
    expect(opensslVerify(blobJson, artifact, publicKey)).toBe(true);
    expect(opensslVerify(attestationJson, artifact, publicKey)).toBe(true);
    for (const [json, kind] of [
      [blobJson, 'message'],
      [attestationJson, 'dsse'],
    ] as const) {
      if (sigstoreVerifies(algorithm, kind)) expect(() => sigstoreVerify(json, artifact, publicKey)).not.toThrow();
      else expect(() => sigstoreVerify(json, artifact, publicKey)).toThrow();
    }

    // The control: a changed artifact fails every verifier.
    const tampered = Buffer.concat([artifact, Buffer.from('!')]);
    await expect(verifyBundle(blob, { bytes: tampered }, policy)).rejects.toMatchObject({ code: 'E_SIGNATURE' });
    expect(opensslVerify(blobJson, tampered, publicKey)).toBe(false);
  });
});
