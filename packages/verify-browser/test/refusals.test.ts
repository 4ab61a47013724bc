// Each refusal of the browser verifier, as the attack itself, with @signet/core refusing the same
// bundle with the same code.
import crypto from 'node:crypto';
import {
  createStatement,
  isSignetError,
  LocalSigner,
  MANIFEST_PREDICATE_TYPE,
  parseBundle,
  serializeBundle,
  signArtifact,
  signBuild,
  signStatement,
  verifyManifestBundle,
} from '@signet/core';
import { ManifestError, type ManifestPolicy, verifyManifest } from '../src/index';

const FILES = [
  { name: 'index.html', data: '<!doctype html>' },
  { name: 'app.js', data: 'console.log(1)' },
];
const INFO = { bundler: { name: 'test', version: '1' }, outputDir: 'dist', createdAt: new Date(Date.UTC(2026, 0, 1)) };
const PREDICATE = { tool: { name: 'signet', version: '1' }, bundler: { name: 't', version: '1' }, environment: {}, outputDir: '.' };

function keyPair(type: 'ec' | 'rsa' = 'ec', options: object = { namedCurve: 'P-256' }) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync(
    type as 'ec',
    options as crypto.ECKeyPairOptions<'pem', 'pem'>,
  ) as unknown as crypto.KeyPairKeyObjectResult;
  return {
    signer: new LocalSigner('test', privateKey),
    core: { keys: [{ publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() }] },
    browser: { keys: [{ jwk: publicKey.export({ format: 'jwk' }) }] } as ManifestPolicy,
  };
}
const trusted = keyPair();

/** Both verifiers refuse `json`, with `code`. */
async function refusedByBoth(
  json: unknown,
  code: string,
  policy = { core: trusted.core as Parameters<typeof verifyManifestBundle>[1], browser: trusted.browser },
) {
  const browser = await verifyManifest(structuredClone(json), policy.browser).then(
    () => 'accepted',
    (error: unknown) => (error instanceof ManifestError ? error.code : `crash ${error}`),
  );
  const core = await Promise.resolve()
    .then(() => verifyManifestBundle(parseBundle(structuredClone(json)), policy.core))
    .then(
      () => 'accepted',
      (error: unknown) => (isSignetError(error) ? error.code : `crash ${error}`),
    );
  expect({ browser, core }).toEqual({ browser: code, core: code });
}

async function manifestJson(statementEdit?: (statement: Record<string, unknown>) => void, signer = trusted.signer) {
  if (!statementEdit) return JSON.parse((await signBuild(FILES, INFO, signer)).bundleJson);
  const statement = createStatement(
    [{ name: 'app.js', digest: { sha256: crypto.createHash('sha256').update('x').digest('hex') } }],
    MANIFEST_PREDICATE_TYPE,
    { ...PREDICATE, fileCount: 1 },
  ) as unknown as Record<string, unknown>;
  statementEdit(statement);
  return serializeBundle(await signStatement(statement as never, signer));
}

test('a genuine manifest is accepted, with its files and createdAt', async () => {
  const verified = await verifyManifest(await manifestJson(), trusted.browser);
  expect([...verified.files.keys()]).toEqual(['app.js', 'index.html']);
  expect(verified.createdAt).toBe('2026-01-01T00:00:00.000Z');
});

test('a manifest whose file digest was replaced after signing: E_SIGNATURE', async () => {
  const json = await manifestJson();
  const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString());
  statement.subject[0].digest.sha256 = 'f'.repeat(64);
  json.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  await refusedByBoth(json, 'E_SIGNATURE');
});

test('a manifest signed by another key: E_SIGNATURE', async () => {
  await refusedByBoth(await manifestJson(undefined, keyPair().signer), 'E_SIGNATURE');
});

test("the trusted key's signature on an SBOM, not a build manifest: E_POLICY", async () => {
  const sbom = await signStatement(
    createStatement([{ name: 'app.js', digest: { sha256: 'a'.repeat(64) } }], 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX' }),
    trusted.signer,
  );
  await refusedByBoth(serializeBundle(sbom), 'E_POLICY');
});

test('a signed manifest naming a path outside the folder: E_POLICY', async () => {
  await refusedByBoth(
    await manifestJson((s) => {
      (s.subject as { name: string }[])[0] = { ...(s.subject as { name: string }[])[0], name: '../index.html' } as never;
    }),
    'E_POLICY',
  );
});

test('a signed manifest with a field Signet does not write, or a createdAt that is not its time format: E_BUNDLE', async () => {
  await refusedByBoth(await manifestJson((s) => Object.assign(s.predicate as object, { serve: '/etc' })), 'E_BUNDLE');
  await refusedByBoth(await manifestJson((s) => Object.assign(s.predicate as object, { createdAt: '2026-01-01' })), 'E_BUNDLE');
});

test('a message signature over the manifest file instead of a signed manifest: E_BUNDLE', async () => {
  const message = await signArtifact({ bytes: Buffer.from('{}') }, trusted.signer);
  await refusedByBoth(serializeBundle(message), 'E_BUNDLE');
});

test('an ECDSA signature re-encoded with a non-minimal DER length (malleated): E_SIGNATURE', async () => {
  const json = await manifestJson();
  const der = Buffer.from(json.dsseEnvelope.signatures[0].sig, 'base64');
  // 30 LL ... -> 30 81 LL ...: the same r and s, a long-form length where the short form fits.
  const malleated = Buffer.concat([Buffer.from([0x30, 0x81, der[1] as number]), der.subarray(2)]);
  json.dsseEnvelope.signatures[0].sig = malleated.toString('base64');
  await refusedByBoth(json, 'E_SIGNATURE');
});

test('a key-signed manifest against a policy of identities only: E_POLICY; an RSA key under 2048 bits in the policy: E_KEY', async () => {
  const json = await manifestJson();
  const identities = [{ subject: 'release@example.com', issuer: 'https://issuer.example' }];
  await refusedByBoth(json, 'E_POLICY', { core: { identities }, browser: { identities } });
  // A weak key cannot sign here (LocalSigner refuses it); trusting one is refused all the same.
  const weak = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  await refusedByBoth(json, 'E_KEY', {
    core: { keys: [...trusted.core.keys, { publicKey: weak.export({ type: 'spki', format: 'pem' }).toString() }] },
    browser: { keys: [...(trusted.browser.keys ?? []), { jwk: weak.export({ format: 'jwk' }) }] },
  });
});

test('a key outside its window, with no trusted time: E_POLICY', async () => {
  const json = await manifestJson();
  const window = { validUntil: '2020-01-01T00:00:00.000Z' };
  await refusedByBoth(json, 'E_POLICY', {
    core: { keys: [{ ...(trusted.core.keys[0] as { publicKey: string }), validUntil: new Date(window.validUntil) }] },
    browser: { keys: [{ ...(trusted.browser.keys?.[0] as { jwk: JsonWebKey }), ...window }] },
  });
});

test('a policy requiring a log entry, and an unlogged manifest: E_TLOG; a log entry and no trusted root: E_TRUST_ROOT', async () => {
  const json = await manifestJson();
  await refusedByBoth(json, 'E_TLOG', { core: { ...trusted.core, tlogThreshold: 1 }, browser: { ...trusted.browser, tlogThreshold: 1 } });
  json.verificationMaterial.tlogEntries = [
    {
      logIndex: '1',
      logId: { keyId: 'AAAA' },
      kindVersion: { kind: 'dsse', version: '0.0.1' },
      integratedTime: '1',
      inclusionPromise: { signedEntryTimestamp: 'AAAA' },
      inclusionProof: { logIndex: '1', rootHash: 'AAAA', treeSize: '2', hashes: [], checkpoint: { envelope: 'x' } },
      canonicalizedBody: 'e30=',
    },
  ];
  await refusedByBoth(json, 'E_TRUST_ROOT');
});
