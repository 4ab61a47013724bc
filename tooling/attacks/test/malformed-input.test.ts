// Bad input ends as one line with a specific code and exit 2 (or 1 when it is a claim that
// fails verification), never as E_INTERNAL: E_INTERNAL is for Signet's own bugs. Each case is a
// malformed file an attacker controls: a bundle, a statement, a certificate, a policy.
import crypto from 'node:crypto';
import { createStatement, LocalSigner, publicKeyPem, serializeBundle, signArtifact, signStatement } from '@signet/core';
import { type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';
import { type FakeRegistry, startFakeRegistry } from '../../../packages/npm/test/support/fake-registry';

const tmp = useTempDir();
const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = new LocalSigner('release', pair.privateKey);

// biome-ignore lint/suspicious/noExplicitAny: the attacks edit the bundle JSON at any depth
type BundleJson = Record<string, any>;

async function verifyWith(bundle: unknown, extra: string[] = []): Promise<RunResult> {
  const dir = tmp();
  writeFile(dir, 'art.txt', 'a release');
  writeFile(dir, 'release.pub', publicKeyPem(pair.publicKey));
  writeFile(dir, 'art.txt.sigstore.json', typeof bundle === 'string' ? bundle : JSON.stringify(bundle));
  return signetAsync(['verify', 'art.txt', '--key', 'release.pub', ...extra], { cwd: dir });
}

async function messageBundle(): Promise<BundleJson> {
  return serializeBundle(await signArtifact({ bytes: Buffer.from('a release') }, signer)) as BundleJson;
}

function expectRefused(result: RunResult, codes: string[], status = 2): void {
  expect(result.status).toBe(status);
  const { code } = singleErrorLine(result.stderr);
  expect(codes).toContain(code);
  expect(result.stderr).not.toMatch(/TypeError|\n\s+at /);
}

describe('bundles', () => {
  it.each([
    ['not JSON', '<html>not a bundle</html>'],
    ['a JSON array', '[]'],
    ['a JSON number', '42'],
    ['null', 'null'],
    ['empty', ''],
  ])('%s: E_BUNDLE, exit 2', async (_what, text) => {
    expectRefused(await verifyWith(text), ['E_BUNDLE']);
  });

  it.each([
    ['a signature that is not base64', (b: BundleJson) => (b.messageSignature.signature = '%%%')],
    ['a digest of another length', (b: BundleJson) => (b.messageSignature.messageDigest.digest = Buffer.alloc(7).toString('base64'))],
    ['an unknown hash algorithm', (b: BundleJson) => (b.messageSignature.messageDigest.algorithm = 'MD5')],
    ['a certificate of garbage DER', (b: BundleJson) => (b.verificationMaterial = { certificate: { rawBytes: 'AAEC' }, tlogEntries: [] })],
    [
      'a log entry whose body is not JSON',
      (b: BundleJson) => {
        b.verificationMaterial.tlogEntries = [
          {
            logIndex: '1',
            logId: { keyId: 'AA==' },
            kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
            integratedTime: '1',
            canonicalizedBody: Buffer.from('{').toString('base64'),
            inclusionPromise: { signedEntryTimestamp: 'AA==' },
          },
        ];
      },
    ],
  ])('%s: a specific code, never E_INTERNAL', async (_what, edit) => {
    const bundle = await messageBundle();
    edit(bundle);
    const result = await verifyWith(bundle, ['--offline']);
    expect(result.status).not.toBe(0);
    const { code } = singleErrorLine(result.stderr);
    expect(code).not.toBe('E_INTERNAL');
    expect(result.stderr).not.toMatch(/TypeError|\n\s+at /);
  });
});

describe('statements', () => {
  async function statementBundle(statement: unknown): Promise<BundleJson> {
    const bundle = serializeBundle(
      await signStatement(createStatement([{ digest: { sha256: 'ab'.repeat(32) } }], 'x', {}), signer),
    ) as BundleJson;
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    return bundle;
  }
  const sha256 = crypto.createHash('sha256').update('a release').digest('hex');

  it.each([
    [
      'a subject digest that is a number',
      { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: 7 } }], predicateType: 'x' },
    ],
    [
      'a subject digest that is an object',
      { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: { hex: sha256 } } }], predicateType: 'x' },
    ],
    [
      'a subject name that is a number',
      { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 5, digest: { sha256 } }], predicateType: 'x' },
    ],
    ['subjects that are not a list', { _type: 'https://in-toto.io/Statement/v1', subject: { digest: { sha256 } }, predicateType: 'x' }],
    ['a subject that is null', { _type: 'https://in-toto.io/Statement/v1', subject: [null], predicateType: 'x' }],
    [
      'a predicate type that is a list',
      { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256 } }], predicateType: ['x'] },
    ],
  ])('%s: E_BUNDLE, exit 2 (they were E_INTERNAL)', async (_what, statement) => {
    expectRefused(await verifyWith(await statementBundle(statement)), ['E_BUNDLE']);
  });
});

describe('arguments and policies', () => {
  it('sha256:zz is not a sha256 digest: E_INPUT, not "does not exist"', async () => {
    const dir = tmp();
    writeFile(dir, 'release.pub', publicKeyPem(pair.publicKey));
    const result = await signetAsync(['verify', 'sha256:zz', '--bundle', 'b.json', '--key', 'release.pub'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_INPUT', message: expect.stringContaining('is not a sha256 digest') });
  });

  it('a gate policy with a number where a string goes: E_INPUT naming the place', async () => {
    const dir = tmp();
    writeFile(dir, 'policy.yaml', 'version: 1\nidentities:\n  ci: { issuer: 5, subject: x }\nrules:\n  - { kind: file, signers: [ci] }\n');
    writeFile(dir, 'art.txt', 'x');
    const result = await signetAsync(['gate', '--policy', 'policy.yaml', 'art.txt'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_INPUT',
      message: expect.stringMatching(/^policy\.yaml:3:\d+: identities\.ci\.issuer: must be a string/),
    });
  });

  it('an npm policy file with an identity that would trust anyone: E_USAGE, exit 2', async () => {
    const dir = tmp();
    writeFile(dir, 'policy.json', JSON.stringify({ identities: [{ issuer: 'https://token.actions.githubusercontent.com' }] }));
    const result = await signetAsync(['npm', 'verify', 'left-pad@1.3.0', '--policy', 'policy.json', '--registry', 'http://127.0.0.1:9'], {
      cwd: dir,
    });
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_USAGE');
  });

  it('--concurrency that is not a number: E_USAGE, exit 2 (it verified nothing and said ok)', async () => {
    const dir = tmp();
    writeFile(dir, 'package-lock.json', JSON.stringify({ lockfileVersion: 3, packages: { '': {} } }));
    writeFile(dir, 'release.pub', publicKeyPem(pair.publicKey));
    const result = await signetAsync(
      ['npm', 'verify', '--lockfile', 'package-lock.json', '--key', 'release.pub', '--concurrency', 'x', '--json'],
      {
        cwd: dir,
      },
    );
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_USAGE');
  });
});

describe('registries answering documents of the wrong shape', () => {
  let registry: FakeRegistry;
  beforeAll(async () => {
    registry = await startFakeRegistry();
  });
  afterAll(() => registry.close());

  it.each([
    ['a version without dist', { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0' } } }],
    [
      'signatures that are an object',
      { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0', dist: { tarball: 'x', signatures: {} } } } },
    ],
    [
      'a signet.bundle that is a number',
      { name: 'pkg-m', versions: { '1.0.0': { name: 'pkg-m', version: '1.0.0', signet: { bundle: 5 }, dist: { tarball: 'x' } } } },
    ],
    ['a packument that is null', null],
  ])('npm verify, %s: E_PROVIDER, exit 3, one line (it was E_INTERNAL)', async (what, document) => {
    const dir = tmp();
    writeFile(dir, 'release.pub', publicKeyPem(pair.publicKey));
    const url = registry.add(`malformed-${what.replace(/\W+/g, '-')}`, { releases: [], keys: [], documents: { 'pkg-m': document } });
    const result = await signetAsync(['npm', 'verify', 'pkg-m@1.0.0', '--key', 'release.pub', '--registry', url], { cwd: dir });
    expect(result.status).toBe(3);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_PROVIDER', message: expect.stringContaining('is malformed') });
  });
});
