// Rekor v2 round trips against the local stack's rekor-tiles emulator (which refuses what
// rekor-tiles refuses): every algorithm it logs, message signatures and DSSE, keys and keyless,
// each bundle verified by Signet and, where the pinned @sigstore/verify can, by sigstore-js with the
// same trusted root. And what is refused before anything is sent, and a v2 entry without a
// timestamp at verification.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot as TrustedRootCodec } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  type Bundle,
  createStatement,
  createVerifier,
  LocalSigner,
  loadTrustedRoot,
  openSigner,
  type Policy,
  parseBundle,
  publicKeyPem,
  type SigstoreServices,
  serializeBundle,
  signArtifact,
  signStatement,
  type TrustedRoot,
} from '../src';

const stack = new SigstoreStack();
let trustedRoot: TrustedRoot;
let services: SigstoreServices;
const artifact = Buffer.from('an artifact logged in Rekor v2');

beforeAll(async () => {
  await stack.start();
  trustedRoot = await loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
  services = { fulcioURL: stack.fulcio.url, rekorLogs: [{ url: stack.rekorV2.url, version: 2 }], tsaURLs: [stack.tsa.url], retries: 1 };
}, 60_000);
afterAll(() => stack.stop());

const KEYS = {
  'ECDSA P-256': () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'ECDSA P-384': () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'ECDSA P-521': () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  'RSA-2048 PKCS#1 v1.5': () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }),
  'RSA-3072 PKCS#1 v1.5': () => crypto.generateKeyPairSync('rsa', { modulusLength: 3072 }),
  'RSA-4096 PKCS#1 v1.5': () => crypto.generateKeyPairSync('rsa', { modulusLength: 4096 }),
};
const KEY_DETAILS: Record<keyof typeof KEYS, string> = {
  'ECDSA P-256': 'PKIX_ECDSA_P256_SHA_256',
  'ECDSA P-384': 'PKIX_ECDSA_P384_SHA_384',
  'ECDSA P-521': 'PKIX_ECDSA_P521_SHA_512',
  'RSA-2048 PKCS#1 v1.5': 'PKIX_RSA_PKCS1V15_2048_SHA256',
  'RSA-3072 PKCS#1 v1.5': 'PKIX_RSA_PKCS1V15_3072_SHA256',
  'RSA-4096 PKCS#1 v1.5': 'PKIX_RSA_PKCS1V15_4096_SHA256',
};

const keyPolicy = (pem: string): Policy => ({
  keys: [{ name: 'release', publicKey: pem }],
  tlogThreshold: 1,
  timestampThreshold: 1,
  predicateTypes: 'any',
});

/** The logged entry's body, as rekor-tiles canonicalized it. */
function loggedBody(bundle: Bundle) {
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (!entry) throw new Error('no log entry');
  return { entry, body: JSON.parse(entry.canonicalizedBody.toString('utf8')) };
}

/** @sigstore/verify with the stack's trusted root, trusting `pem` as the signing key: log and timestamp both required. */
function sigstoreVerify(bundle: Bundle, pem: string, data: Buffer): void {
  const publicKey = crypto.createPublicKey(pem);
  const trust = toTrustMaterial(TrustedRootCodec.fromJSON(stack.trustedRoot), () => ({ publicKey, validFor: () => true }));
  new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 }).verify(
    toSignedEntity(bundleFromJSON(serializeBundle(bundle)), data),
  );
}

function withoutTimestamps(bundle: Bundle): Bundle {
  const json = serializeBundle(bundle) as { verificationMaterial: { timestampVerificationData?: unknown } };
  delete json.verificationMaterial.timestampVerificationData;
  return parseBundle(json);
}

describe('key signatures logged in Rekor v2, with a timestamp beside each entry', () => {
  it.each(Object.keys(KEYS) as (keyof typeof KEYS)[])(
    '%s: a message signature and a DSSE attestation',
    async (name) => {
      const { privateKey, publicKey } = KEYS[name]();
      const pem = publicKeyPem(publicKey);
      const signer = new LocalSigner('release', privateKey);
      const before = stack.rekorV2.calls('CreateEntry').length;

      const message = await signArtifact({ bytes: artifact }, signer, { services, tlogUpload: true });
      const { entry, body } = loggedBody(message);
      expect(entry.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
      expect(entry.integratedTime).toBe('0');
      expect(entry.inclusionPromise).toBeUndefined();
      expect(entry.inclusionProof?.checkpoint?.envelope).toContain(`${new URL(stack.rekorV2.url).host}\n`);
      const verifier = body.spec.hashedRekordV002.signature.verifier;
      expect(verifier.keyDetails).toBe(KEY_DETAILS[name]);
      // The key itself, not a certificate made of it.
      expect(Buffer.from(verifier.publicKey.rawBytes, 'base64')).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
      expect(message.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
      const verified = await createVerifier({ policy: keyPolicy(pem), trustedRoot }).verify(message, { bytes: artifact });
      expect(verified.timestamps.map((t) => t.source)).toEqual(['timestamp-authority']);
      sigstoreVerify(message, pem, artifact);

      const statement = createStatement(
        [{ name: 'app.tgz', digest: { sha256: crypto.createHash('sha256').update(artifact).digest('hex') } }],
        'https://slsa.dev/provenance/v1',
        {},
      );
      const attestation = await signStatement(statement, signer, { services, tlogUpload: true });
      const dsse = loggedBody(attestation);
      expect(dsse.entry.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
      // Logged over the digest of the envelope's pre-authentication encoding, with the key's own hash.
      const envelope = attestation.content.$case === 'dsseEnvelope' ? attestation.content.dsseEnvelope : undefined;
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${envelope?.payloadType.length} ${envelope?.payloadType} ${envelope?.payload.length} `),
        envelope?.payload ?? Buffer.alloc(0),
      ]);
      const hash = { 'ECDSA P-384': 'sha384', 'ECDSA P-521': 'sha512' }[name as string] ?? 'sha256';
      expect(Buffer.from(dsse.body.spec.hashedRekordV002.data.digest, 'base64')).toEqual(crypto.createHash(hash).update(pae).digest());
      expect(Buffer.from(dsse.body.spec.hashedRekordV002.signature.content, 'base64')).toEqual(envelope?.signatures[0]?.sig);
      await createVerifier({ policy: keyPolicy(pem), trustedRoot }).verifyStatement(attestation);
      expect(stack.rekorV2.calls('CreateEntry').length - before).toBe(2);
    },
    120_000,
  );
});

describe('keyless, logged in Rekor v2', () => {
  it('the certificate is the verifier; Signet and @sigstore/verify verify the bundle by identity', async () => {
    const signer = await openSigner('keyless', { identityToken: await stack.mintToken({ email: 'v2@example.com' }), services });
    const bundle = await signArtifact({ bytes: artifact }, signer, { services });
    const { body } = loggedBody(bundle);
    const verifier = body.spec.hashedRekordV002.signature.verifier;
    expect(verifier.keyDetails).toBe('PKIX_ECDSA_P256_SHA_256');
    const certificate =
      bundle.verificationMaterial.content.$case === 'certificate' ? bundle.verificationMaterial.content.certificate.rawBytes : undefined;
    expect(Buffer.from(verifier.x509Certificate.rawBytes, 'base64')).toEqual(certificate);
    const policy: Policy = { identities: [{ subject: 'v2@example.com', issuer: stack.oidc.url }] };
    await createVerifier({ policy, trustedRoot }).verify(bundle, { bytes: artifact });
    const trust = toTrustMaterial(TrustedRootCodec.fromJSON(stack.trustedRoot));
    new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 }).verify(
      toSignedEntity(bundleFromJSON(serializeBundle(bundle)), artifact),
    );

    // Without its timestamp the entry proves no time at all: refused, as cosign 3 refuses it.
    await expect(createVerifier({ policy, trustedRoot }).verify(withoutTimestamps(bundle), { bytes: artifact })).rejects.toMatchObject({
      code: 'E_TIMESTAMP',
    });
  }, 60_000);
});

describe('what the v2 client refuses before anything is sent', () => {
  const refusedBeforeSending = async (signer: LocalSigner, options: Parameters<typeof signArtifact>[2], message: RegExp) => {
    const before = stack.rekorV2.requests.length;
    await expect(signArtifact({ bytes: artifact }, signer, options)).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringMatching(message),
    });
    expect(stack.rekorV2.requests.length).toBe(before);
  };

  it('pure Ed25519, naming Ed25519ph', async () => {
    const signer = new LocalSigner('ed', crypto.generateKeyPairSync('ed25519').privateKey);
    await refusedBeforeSending(signer, { services, tlogUpload: true }, /pure Ed25519.*Ed25519ph/);
  });

  it('RSA-PSS, which rekor-tiles no longer logs', async () => {
    const signer = new LocalSigner('pss', crypto.generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey);
    await refusedBeforeSending(signer, { services, tlogUpload: true }, /RSA-PSS/);
  });

  it('a v2 entry without a timestamp authority to stand beside it', async () => {
    const signer = new LocalSigner('ec', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    await refusedBeforeSending(signer, { services: { ...services, tsaURLs: [] }, tlogUpload: true }, /needs an RFC 3161 timestamp/);
  });
});

describe('what the v2 client refuses from the log', () => {
  it('a log that answers with the entry of another signature: E_PROVIDER, no bundle', async () => {
    const signer = new LocalSigner('ec', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const other = await signArtifact({ bytes: Buffer.from('another artifact') }, signer, { services, tlogUpload: true });
    const answer = JSON.stringify(
      (serializeBundle(other) as { verificationMaterial: { tlogEntries: unknown[] } }).verificationMaterial.tlogEntries[0],
    );
    // A log replaying an entry it already holds, in place of the one asked for.
    const replaying = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(201, { 'content-type': 'application/json' }).end(answer));
    });
    await new Promise<void>((resolve) => replaying.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(replaying.address() as AddressInfo).port}`;
    try {
      await expect(
        signArtifact({ bytes: artifact }, signer, { services: { ...services, rekorLogs: [{ url, version: 2 }] }, tlogUpload: true }),
      ).rejects.toMatchObject({ code: 'E_PROVIDER', message: expect.stringContaining('an entry for another signature') });
    } finally {
      replaying.close();
    }
  });
});

describe('verifying a key-signed bundle whose entry is in Rekor v2', () => {
  let bundle: Bundle;
  let pem: string;
  beforeAll(async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    pem = publicKeyPem(publicKey);
    bundle = await signArtifact({ bytes: artifact }, new LocalSigner('release', privateKey), { services, tlogUpload: true });
  });

  it('without its timestamp: E_TIMESTAMP, whatever the thresholds', async () => {
    const policy: Policy = { keys: [{ name: 'release', publicKey: pem }] };
    await expect(createVerifier({ policy, trustedRoot }).verify(withoutTimestamps(bundle), { bytes: artifact })).rejects.toMatchObject({
      code: 'E_TIMESTAMP',
      message: expect.stringContaining('Rekor v2 entry'),
    });
  });

  it('with a timestamp from a TSA the trusted root does not name, in place of its own: E_TIMESTAMP', async () => {
    // Another deployment's TSA stamps the very same signature: a real timestamp, untrusted here.
    const other = new SigstoreStack();
    await other.start();
    try {
      const { TSAWitness } = await import('@sigstore/sign');
      const stamped = await new TSAWitness({ tsaBaseURL: other.tsa.url }).testify(bundle.content);
      expect(stamped.rfc3161Timestamps).toHaveLength(1);
      const restamped: Bundle = {
        ...bundle,
        verificationMaterial: {
          ...bundle.verificationMaterial,
          timestampVerificationData: { rfc3161Timestamps: stamped.rfc3161Timestamps ?? [] },
        },
      };
      const policy: Policy = { keys: [{ name: 'release', publicKey: pem }] };
      await expect(createVerifier({ policy, trustedRoot }).verify(restamped, { bytes: artifact })).rejects.toMatchObject({
        code: 'E_TIMESTAMP',
      });
    } finally {
      await other.stop();
    }
  }, 60_000);

  it('a checkpoint signed by another key: E_TLOG', async () => {
    const json = serializeBundle(bundle) as {
      verificationMaterial: { tlogEntries: { inclusionProof: { checkpoint: { envelope: string } } }[] };
    };
    const checkpoint = json.verificationMaterial.tlogEntries[0]?.inclusionProof.checkpoint;
    if (!checkpoint) throw new Error('no checkpoint');
    const [note, signature = ''] = checkpoint.envelope.split('\n\n');
    const forged = Buffer.from(signature.trim().split(' ').at(-1) ?? '', 'base64');
    forged[10] = (forged[10] as number) ^ 1;
    checkpoint.envelope = `${note}\n\n${signature.trim().split(' ').slice(0, -1).join(' ')} ${forged.toString('base64')}\n`;
    await expect(
      createVerifier({ policy: keyPolicy(pem), trustedRoot }).verify(parseBundle(json), { bytes: artifact }),
    ).rejects.toMatchObject({
      code: 'E_TLOG',
    });
    // An entry that is there is checked even when the policy asks for none.
    const lenient: Policy = { keys: [{ name: 'release', publicKey: pem }] };
    await expect(createVerifier({ policy: lenient, trustedRoot }).verify(parseBundle(json), { bytes: artifact })).rejects.toMatchObject({
      code: 'E_TLOG',
    });
  });
});
