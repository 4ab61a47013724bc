// The verification pipeline, one check at a time: each refusal starts from a committed bundle
// that verifies (test/__fixtures__, written by generate.mjs) and changes one field, as an
// attacker would. The pipeline's order is in src/verify.ts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  type Artifact,
  type Bundle,
  createVerifier,
  isVerified,
  NPM_RELEASE_PREDICATE_TYPE,
  type Policy,
  parseBundle,
  parseTrustedRoot,
  type SignetErrorCode,
  serializeBundle,
  type TrustedRoot,
  type Verified,
} from '../src';

const FIXTURES = path.join(__dirname, '__fixtures__');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const artifact = Buffer.from(fixture('artifact.txt'));
const releasePem = fixture('release.pub');
const trustedRoot: TrustedRoot = parseTrustedRoot(JSON.parse(fixture('trusted_root.json')));
const OIDC_ISSUER = fixture('oidc-issuer.txt').trim();
const SBOM = 'https://cyclonedx.org/bom';

// biome-ignore lint/suspicious/noExplicitAny: edits reach into the bundle JSON at any depth
type BundleJson = Record<string, any>;

/** A committed bundle, changed through its JSON as an attacker would change the file. */
function bundle(name: string, edit?: (json: BundleJson) => void): Bundle {
  const json = JSON.parse(fixture(`${name}.sigstore.json`)) as BundleJson;
  edit?.(json);
  return parseBundle(json);
}

const byKey = (extra: Partial<Policy> = {}): Policy => ({ keys: [{ publicKey: releasePem, name: 'release' }], ...extra });
const RELEASE_WORKFLOW = 'https://github.com/my-org/release-workflows/.github/workflows/release.yml@refs/heads/main';
const byIdentity = (extra: Partial<Policy['identities'] & object>[number] = {}, policy: Partial<Policy> = {}): Policy => ({
  identities: [{ subject: RELEASE_WORKFLOW, issuer: OIDC_ISSUER, ...extra }],
  ...policy,
});

function verify(b: Bundle, policy: Policy, target: Artifact = { bytes: artifact }, root: TrustedRoot | null = trustedRoot) {
  return createVerifier({ policy, trustedRoot: root ?? undefined }).verify(b, target);
}

async function refused(promise: Promise<Verified>, code: SignetErrorCode, message?: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code });
  if (message) expect((error as Error).message).toMatch(message);
}

const flipLastByte = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 1, bytes.length - 1);
  return bytes.toString('base64');
};

describe('log entries', () => {
  type Entry = Record<string, unknown> & { logIndex: string; integratedTime: string };
  const entries = (json: BundleJson) => (json.verificationMaterial as { tlogEntries: Entry[] }).tlogEntries;
  it.each([
    ['an exact copy', (entry: Entry) => ({ ...entry })],
    ['a copy without its SET', (entry: Entry) => ({ ...entry, inclusionPromise: undefined })],
  ])('a copy of the one entry does not meet a threshold of two: %s', async (_name, copy) => {
    const doubled = bundle('message.key.logged', (json) => {
      const list = entries(json);
      list.push(JSON.parse(JSON.stringify(copy(list[0] as Entry))));
    });
    await expect(verify(doubled, byKey({ tlogThreshold: 2 }))).rejects.toMatchObject({
      code: 'E_TLOG',
      message: expect.stringMatching(/twice/),
    });
    await expect(verify(doubled, byKey({ tlogThreshold: 1 }))).rejects.toMatchObject({ code: 'E_TLOG' });
  });

  it.each(['1e3', '01', '0x1', '-1', ' 1'])('refuses a log index or integrated time spelled %j', async (spelling) => {
    for (const field of ['logIndex', 'integratedTime'] as const) {
      const odd = bundle('message.key.logged', (json) => {
        (entries(json)[0] as Entry)[field] = spelling;
      });
      await expect(verify(odd, byKey({ tlogThreshold: 1 }))).rejects.toMatchObject({ code: 'E_BUNDLE' });
    }
  });
});

describe('the committed fixtures', () => {
  it('each verify as they were signed', async () => {
    await expect(verify(bundle('message.key'), byKey())).resolves.toMatchObject({ signer: { kind: 'key', name: 'release' } });
    await expect(verify(bundle('message.key.logged'), byKey({ tlogThreshold: 1 }))).resolves.toMatchObject({ tlogEntries: 1 });
    await expect(verify(bundle('message.key.timestamped'), byKey({ timestampThreshold: 1 }))).resolves.toBeDefined();
    await expect(verify(bundle('dsse.key.sbom'), byKey({ predicateTypes: [SBOM] }))).resolves.toBeDefined();
    await expect(
      verify(bundle('dsse.key.npm-release'), byKey(), { bytes: artifact, name: 'pkg:npm/@acme/demo@1.0.0' }),
    ).resolves.toBeDefined();
    await expect(verify(bundle('message.keyless'), byIdentity())).resolves.toMatchObject({
      signer: { kind: 'certificate', subject: RELEASE_WORKFLOW, issuer: OIDC_ISSUER },
    });
  });
});

describe('1. the bundle’s shape', () => {
  it('refuses a payload type changed to a plain payload, and two signatures', async () => {
    // A text/plain envelope signs its payload itself: it is not the artifact, and the signature no longer covers it.
    const plain = bundle('dsse.key.sbom', (json) => {
      json.dsseEnvelope.payloadType = 'text/plain';
    });
    await refused(verify(plain, byKey()), 'E_SIGNATURE', /not the envelope's text\/plain payload/);
    const payload = plain.content.$case === 'dsseEnvelope' ? plain.content.dsseEnvelope.payload : Buffer.alloc(0);
    await refused(verify(plain, byKey(), { bytes: payload }), 'E_SIGNATURE');
    await refused(createVerifier({ policy: byKey() }).verifyStatement(plain), 'E_BUNDLE', /payload type is text\/plain/);
    // A bundle's envelope carries one signature: two are refused as the bundle is read.
    expect(() =>
      bundle('dsse.key.sbom', (json) => {
        json.dsseEnvelope.signatures.push(json.dsseEnvelope.signatures[0]);
      }),
    ).toThrow(expect.objectContaining({ code: 'E_BUNDLE' }));
  });

  it('refuses a statement whose subject digest is a number, not a crash', async () => {
    const b = bundle('dsse.key.sbom', (json) => {
      const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString());
      statement.subject[0].digest.sha256 = 12345;
      json.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    });
    await refused(verify(b, byKey({ predicateTypes: [SBOM] })), 'E_BUNDLE', /not a hex string/);
  });
});

describe('2. the policy covers the signer before anything is hashed or fetched', () => {
  it('refuses a key bundle under identities, a certificate under keys, and nothing to trust', async () => {
    await refused(verify(bundle('message.key'), byIdentity()), 'E_POLICY', /trusts only keyless identities/);
    await refused(verify(bundle('message.keyless'), byKey()), 'E_POLICY', /trusts only keys/);
    await refused(verify(bundle('message.key'), {}), 'E_POLICY');
  });

  it('refuses an identity rule that would trust any identity', () => {
    expect(() => createVerifier({ policy: { identities: [{ issuer: OIDC_ISSUER }] } })).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
  });

  it('refuses too few log entries before loading the trusted root', async () => {
    const loader = jest.fn(async () => trustedRoot);
    const verifier = createVerifier({ policy: byKey({ tlogThreshold: 1 }), trustedRoot: loader });
    await refused(verifier.verify(bundle('message.key'), { bytes: artifact }), 'E_TLOG', /requires 1/);
    expect(loader).not.toHaveBeenCalled();
  });
});

describe('3. the artifact', () => {
  it('refuses other bytes, a digest of another length, and a digest of the wrong kind', async () => {
    await refused(verify(bundle('message.key'), byKey(), { bytes: Buffer.from('other') }), 'E_SIGNATURE', /does not match/);
    const short = { digest: { algorithm: 'sha256' as const, value: Buffer.alloc(20) } };
    await refused(verify(bundle('message.key'), byKey(), short), 'E_INPUT');
    const sha512 = { digest: { algorithm: 'sha512' as const, value: crypto.createHash('sha512').update(artifact).digest() } };
    await refused(verify(bundle('message.key'), byKey(), sha512), 'E_INPUT');
  });

  it('refuses a statement that names the bytes under another name, and a message signature where a name is required', async () => {
    await refused(
      verify(bundle('dsse.key.npm-release'), byKey(), { bytes: artifact, name: 'pkg:npm/@acme/demo@2.0.0' }),
      'E_SIGNATURE',
      /not pkg:npm\/@acme\/demo@2\.0\.0/,
    );
    await refused(
      verify(bundle('message.key'), byKey(), { bytes: artifact, name: 'pkg:npm/@acme/demo@1.0.0' }),
      'E_POLICY',
      /names nothing/,
    );
  });

  it('refuses a subject whose digest matches one algorithm and not another', async () => {
    const b = bundle('dsse.key.sbom', (json) => {
      const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString());
      statement.subject[0].digest.sha512 = '00'.repeat(64);
      json.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    });
    await refused(verify(b, byKey({ predicateTypes: [SBOM] })), 'E_SIGNATURE', /not a subject/);
  });
});

describe('4. the trusted root, only when needed', () => {
  it('loads it once for bundles that need it, never for an unwitnessed key signature', async () => {
    const loader = jest.fn(async () => trustedRoot);
    const keys = createVerifier({ policy: byKey(), trustedRoot: loader });
    await keys.verify(bundle('message.key'), { bytes: artifact });
    expect(loader).not.toHaveBeenCalled();
    await keys.verify(bundle('message.key.logged'), { bytes: artifact });
    await keys.verify(bundle('message.key.timestamped'), { bytes: artifact });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('refuses a certificate, a log entry or a timestamp without one', async () => {
    await refused(verify(bundle('message.keyless'), byIdentity(), { bytes: artifact }, null), 'E_TRUST_ROOT');
    await refused(verify(bundle('message.key.logged'), byKey(), { bytes: artifact }, null), 'E_TRUST_ROOT');
  });

  it('passes on a failure to load it as it is', async () => {
    const failing = createVerifier({
      policy: byIdentity(),
      trustedRoot: async () => {
        throw Object.assign(new Error('unreachable'), { code: 'E_PROVIDER' });
      },
    });
    await expect(failing.verify(bundle('message.keyless'), { bytes: artifact })).rejects.toThrow('unreachable');
  });
});

describe('5. signatures, log entries and timestamps (sigstore-js)', () => {
  it('refuses a changed signature, log entry body, signed entry timestamp or inclusion proof', async () => {
    await refused(
      verify(
        bundle('message.key', (json) => {
          json.messageSignature.signature = flipLastByte(json.messageSignature.signature);
        }),
        byKey(),
      ),
      'E_SIGNATURE',
    );
    const entry = (edit: (e: BundleJson) => void) => bundle('message.key.logged', (json) => edit(json.verificationMaterial.tlogEntries[0]));
    await refused(
      verify(
        entry((e) => (e.canonicalizedBody = flipLastByte(e.canonicalizedBody))),
        byKey(),
      ),
      'E_TLOG',
    );
    await refused(
      verify(
        entry((e) => (e.inclusionPromise.signedEntryTimestamp = flipLastByte(e.inclusionPromise.signedEntryTimestamp))),
        byKey(),
      ),
      'E_TLOG',
    );
    await refused(
      verify(
        entry((e) => (e.inclusionProof.hashes = [flipLastByte(e.inclusionProof.hashes[0])])),
        byKey(),
      ),
      'E_TLOG',
    );
    await refused(
      verify(
        entry((e) => (e.integratedTime = String(Number(e.integratedTime) - 86_400))),
        byKey(),
      ),
      'E_TLOG',
    );
  });

  it('refuses, without crashing, a timestamp token whose time cannot be read (found by the mutation fuzz)', async () => {
    const broken = bundle('message.key.timestamped', (json) => {
      const token = Buffer.from(json.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 'base64');
      // The GeneralizedTime genTime: tag 0x18, 15 bytes, YYYYMMDDhhmmssZ. Month 13 is no time.
      const at = token.indexOf(Buffer.from([0x18, 0x0f]));
      token.write('20261306999999Z', at + 2, 'latin1');
      json.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp = token.toString('base64');
    });
    const error = await verify(broken, byKey()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expect.stringMatching(/^E_(BUNDLE|TIMESTAMP)$/) });
  });

  it('refuses a timestamp from a TSA the root does not trust', async () => {
    const untrusted = { ...trustedRoot, timestampAuthorities: [] };
    await refused(verify(bundle('message.key.timestamped'), byKey(), { bytes: artifact }, untrusted), 'E_TIMESTAMP');
  });
});

describe('6. trusted times and key windows', () => {
  const logged = bundle('message.key.logged');
  const entry = logged.verificationMaterial.tlogEntries[0];
  const seen = new Date(Number(entry?.integratedTime) * 1000);
  const window = (validFrom?: Date, validUntil?: Date): Policy => ({
    keys: [{ publicKey: releasePem, name: 'release', validFrom, validUntil }],
  });
  const day = 86_400_000;

  it('places a logged signature in the key’s window by its signed entry timestamp, even once the key has expired', async () => {
    const expiredSince = window(new Date(seen.getTime() - day), new Date(seen.getTime() + 1000));
    const verified = await verify(logged, expiredSince);
    expect(verified.timestamps).toEqual([{ source: 'transparency-log', time: seen }]);
    await refused(verify(logged, window(new Date(seen.getTime() + 1000))), 'E_POLICY');
  });

  it('never trusts an integratedTime without its signed entry timestamp: the key must then be valid now', async () => {
    // The attack: drop the SET, back-date the entry into the key's old window.
    const forged = bundle('message.key.logged', (json) => {
      const e = json.verificationMaterial.tlogEntries[0];
      delete e.inclusionPromise;
      e.integratedTime = String(Date.parse('2024-01-01T00:00:00Z') / 1000);
    });
    const expiredIn2025 = window(new Date('2023-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z'));
    await refused(verify(forged, expiredIn2025), 'E_POLICY', /no trusted timestamp inside that window/);
    // Its inclusion proof still holds, so with a key valid now it verifies, and shows no time.
    const verified = await verify(forged, window(new Date(Date.now() - day), new Date(Date.now() + day)));
    expect(verified.timestamps).toEqual([]);
  });

  it('treats a Rekor v2-style entry (integratedTime 0, no SET) as no time at all', async () => {
    const v2Like = bundle('message.key.logged', (json) => {
      const e = json.verificationMaterial.tlogEntries[0];
      delete e.inclusionPromise;
      e.integratedTime = '0';
    });
    expect((await verify(v2Like, byKey())).timestamps).toEqual([]);
  });

  it('refuses a keyless signature whose only time is unsigned', async () => {
    const noTime = bundle('message.keyless', (json) => {
      delete json.verificationMaterial.tlogEntries[0].inclusionPromise;
      json.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
    });
    await refused(verify(noTime, byIdentity()), 'E_TIMESTAMP', /no trusted time/);
  });

  it('places a signature in the window by a trusted TSA timestamp', async () => {
    const stamped = bundle('message.key.timestamped');
    const verified = await verify(stamped, byKey());
    const [time] = verified.timestamps;
    expect(time?.source).toBe('timestamp-authority');
    await expect(verify(stamped, window(new Date((time?.time.getTime() ?? 0) - day), time?.time))).resolves.toBeDefined();
    await refused(verify(stamped, window(undefined, new Date((time?.time.getTime() ?? 0) - 1000))), 'E_POLICY');
  });
});

describe('7. the signer', () => {
  it('refuses another subject, issuer, source repository or ref', async () => {
    await refused(
      verify(bundle('message.keyless'), byIdentity({ subject: 'https://github.com/my-org/my-app/.github/workflows/x.yml@v1' })),
      'E_POLICY',
    );
    await refused(verify(bundle('message.keyless'), byIdentity({ issuer: 'https://token.actions.githubusercontent.com' })), 'E_POLICY');
    await refused(
      verify(bundle('message.keyless'), byIdentity({ sourceRepository: 'https://github.com/my-org/other' })),
      'E_POLICY',
      /run by https:\/\/github\.com\/my-org\/my-app at refs\/tags\/v1\.0\.0/,
    );
    await refused(verify(bundle('message.keyless'), byIdentity({ sourceRepositoryRef: 'refs/heads/main' })), 'E_POLICY');
    await expect(
      verify(
        bundle('message.keyless'),
        byIdentity({ sourceRepository: 'https://github.com/my-org/my-app', sourceRepositoryRef: 'refs/tags/v1.0.0' }),
      ),
    ).resolves.toMatchObject({
      signer: {
        extensions: {
          sourceRepository: 'https://github.com/my-org/my-app',
          sourceRepositoryRef: 'refs/tags/v1.0.0',
          buildSignerURI: RELEASE_WORKFLOW,
        },
      },
    });
  });

  it('refuses a key the policy does not trust, naming the key the bundle claims', async () => {
    const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await refused(
      verify(bundle('message.key'), { keys: [{ publicKey: stranger, name: 'stranger' }] }),
      'E_SIGNATURE',
      /names another key .*not stranger/,
    );
  });

  it('refuses a policy key too weak to trust', async () => {
    const weak = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await refused(verify(bundle('message.key'), { keys: [{ publicKey: weak, name: 'weak' }] }), 'E_KEY', /1024 bits/);
  });
});

describe('8. what was signed', () => {
  it('takes a message signature or a release statement as a release, and nothing else', async () => {
    await expect(verify(bundle('message.key'), byKey())).resolves.toBeDefined();
    await expect(verify(bundle('dsse.key.npm-release'), byKey())).resolves.toMatchObject({
      statement: { predicateType: NPM_RELEASE_PREDICATE_TYPE },
    });
    await refused(verify(bundle('dsse.key.sbom'), byKey()), 'E_POLICY', /cyclonedx attestation, which proves only what its type says/);
  });

  it('takes only statements of the named types when types are named', async () => {
    await expect(verify(bundle('dsse.key.sbom'), byKey({ predicateTypes: [SBOM] }))).resolves.toBeDefined();
    await refused(verify(bundle('dsse.key.sbom'), byKey({ predicateTypes: ['https://spdx.dev/Document'] })), 'E_POLICY');
    await refused(verify(bundle('message.key'), byKey({ predicateTypes: [SBOM] })), 'E_POLICY', /plain signature/);
  });

  it('takes anything signed only when told to', async () => {
    await expect(verify(bundle('dsse.key.sbom'), byKey({ predicateTypes: 'any' }))).resolves.toBeDefined();
    await expect(verify(bundle('message.key'), byKey({ predicateTypes: 'any' }))).resolves.toBeDefined();
  });
});

describe('the result', () => {
  it('is a Verified only the verifier makes, with the matched subject', async () => {
    const verified = await verify(bundle('dsse.key.npm-release'), byKey(), { bytes: artifact, name: 'pkg:npm/@acme/demo@1.0.0' });
    expect(isVerified(verified)).toBe(true);
    expect(verified.subject?.name).toBe('pkg:npm/%40acme/demo@1.0.0');
    expect(isVerified({ ...verified })).toBe(false);
    expect(isVerified(JSON.parse(JSON.stringify(verified)))).toBe(false);
  });

  it('verifies a statement about many files without binding it to one', async () => {
    const verified = await createVerifier({ policy: byKey({ predicateTypes: [SBOM] }) }).verifyStatement(bundle('dsse.key.sbom'));
    expect(isVerified(verified)).toBe(true);
    expect(verified.statement.subject[0]?.name).toBe('artifact.txt');
    await refused(createVerifier({ policy: byKey() }).verifyStatement(bundle('message.key')), 'E_BUNDLE');
  });

  it('serialises its bundle input unchanged (the fixtures stay valid bundles)', () => {
    expect(serializeBundle(bundle('message.key'))).toEqual(JSON.parse(fixture('message.key.sigstore.json')));
  });
});
