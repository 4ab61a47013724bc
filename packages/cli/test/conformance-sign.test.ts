// The sigstore-conformance signing cases through signet-conformance, with the arguments in the
// suite's order (test/client.py): sign-bundle [--staging] [--in-toto] --identity-token T
// --bundle OUT [--trusted-root F] [--signing-config F] FILE, then verify-bundle of what it wrote.
// Against the local Sigstore stack, with signing configs shaped like staging's: Rekor v1, and
// Rekor v2 with a timestamp authority.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { type RunResult, SIGNET_CONFORMANCE, sha256Hex, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';

const EMAIL = 'conformance@example.com';
const stack = new SigstoreStack();
const tmp = useTempDir();

beforeAll(async () => {
  await stack.start();
}, 60_000);
afterAll(async () => {
  await stack.stop();
});

function conformance(dir: string, args: string[]): Promise<RunResult> {
  return signetAsync(args, { cwd: dir, script: SIGNET_CONFORMANCE, env: { SIGSTORE_ID_TOKEN: undefined, XDG_CACHE_HOME: dir } });
}

async function ok(dir: string, args: string[]): Promise<RunResult> {
  const result = await conformance(dir, args);
  if (result.status !== 0) throw new Error(`signet-conformance ${args[0]} exited ${result.status}\n${result.stderr}`);
  expect(result.stderr).toBe('');
  return result;
}

const verifyArgs = (bundle: string, target: string) => [
  'verify-bundle',
  '--bundle',
  bundle,
  '--certificate-identity',
  EMAIL,
  '--certificate-oidc-issuer',
  stack.oidc.url,
  '--trusted-root',
  stack.trustedRootPath,
  target,
];

interface BundleJson {
  messageSignature?: unknown;
  dsseEnvelope?: { payloadType: string };
  verificationMaterial: {
    tlogEntries: { kindVersion: { kind: string; version: string }; integratedTime?: string }[];
    timestampVerificationData?: { rfc3161Timestamps: unknown[] };
  };
}

const readBundle = (dir: string, name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as BundleJson;

describe('sign-bundle, then verify-bundle', () => {
  it('signs a file keyless with the signing config given, and verifies it by path and by digest', async () => {
    const dir = tmp();
    writeFile(dir, 'a.txt', crypto.randomBytes(512));
    const token = await stack.mintToken({ email: EMAIL });
    await ok(dir, [
      'sign-bundle',
      '--identity-token',
      token,
      '--bundle',
      'a.txt.sigstore.json',
      '--trusted-root',
      stack.trustedRootPath,
      '--signing-config',
      stack.signingConfigPath,
      'a.txt',
    ]);
    const bundle = readBundle(dir, 'a.txt.sigstore.json');
    expect(bundle.messageSignature).toBeDefined();
    expect(bundle.verificationMaterial.tlogEntries.map((entry) => entry.kindVersion)).toEqual([{ kind: 'hashedrekord', version: '0.0.1' }]);
    await ok(dir, verifyArgs('a.txt.sigstore.json', 'a.txt'));
    await ok(dir, verifyArgs('a.txt.sigstore.json', `sha256:${sha256Hex(fs.readFileSync(path.join(dir, 'a.txt')))}`));
    // Another file, or another identity, is refused.
    writeFile(dir, 'b.txt', 'other');
    expect((await conformance(dir, verifyArgs('a.txt.sigstore.json', 'b.txt'))).status).toBe(1);
  });

  it('--in-toto signs the statement as a DSSE envelope, verified by its subject', async () => {
    const dir = tmp();
    const subject = crypto.randomBytes(256);
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'a.txt', digest: { sha256: sha256Hex(subject) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { buildDefinition: { buildType: 'https://example.com/build', externalParameters: {} }, runDetails: { builder: { id: 'https://example.com/builder' } } },
    };
    writeFile(dir, 'statement.json', JSON.stringify(statement));
    writeFile(dir, 'a.txt', subject);
    const token = await stack.mintToken({ email: EMAIL });
    await ok(dir, ['sign-bundle', '--in-toto', '--identity-token', token, '--bundle', 'st.sigstore.json', '--signing-config', stack.signingConfigPath, 'statement.json']);
    expect(readBundle(dir, 'st.sigstore.json').dsseEnvelope?.payloadType).toBe('application/vnd.in-toto+json');
    await ok(dir, verifyArgs('st.sigstore.json', `sha256:${sha256Hex(subject)}`));
    await ok(dir, verifyArgs('st.sigstore.json', 'a.txt'));
  });

  it('with a staging-like Rekor v2 signing config: a hashedrekord 0.0.2 entry and a timestamp, and verify-bundle accepts it', async () => {
    const dir = tmp();
    writeFile(dir, 'a.txt', crypto.randomBytes(512));
    const token = await stack.mintToken({ email: EMAIL });
    await ok(dir, [
      'sign-bundle',
      '--identity-token',
      token,
      '--bundle',
      'a.txt.sigstore.json',
      '--trusted-root',
      stack.trustedRootPath,
      '--signing-config',
      stack.signingConfigRekorV2Path,
      'a.txt',
    ]);
    const bundle = readBundle(dir, 'a.txt.sigstore.json');
    expect(bundle.verificationMaterial.tlogEntries.map((entry) => entry.kindVersion)).toEqual([{ kind: 'hashedrekord', version: '0.0.2' }]);
    expect(bundle.verificationMaterial.tlogEntries[0]?.integratedTime ?? '0').toBe('0');
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    await ok(dir, verifyArgs('a.txt.sigstore.json', 'a.txt'));
    await ok(dir, verifyArgs('a.txt.sigstore.json', `sha256:${sha256Hex(fs.readFileSync(path.join(dir, 'a.txt')))}`));
  });

  it('a file named like a digest is a file, as the protocol says', async () => {
    const dir = tmp();
    const name = `sha256:${'0'.repeat(64)}`;
    writeFile(dir, name, crypto.randomBytes(64));
    const token = await stack.mintToken({ email: EMAIL });
    await ok(dir, ['sign-bundle', '--identity-token', token, '--bundle', 'd.sigstore.json', '--signing-config', stack.signingConfigPath, name]);
    await ok(dir, verifyArgs('d.sigstore.json', name));
  });
});

describe('what sign-bundle refuses: one error line, no bundle', () => {
  it.each([
    ['no identity token', (dir: string) => ['sign-bundle', '--bundle', 'x.json', '--signing-config', stack.signingConfigPath, path.join(dir, 'a.txt')]],
    ['no file', () => ['sign-bundle', '--identity-token', 'x', '--bundle', 'x.json', '--signing-config', stack.signingConfigPath]],
    ['an unknown flag', (dir: string) => ['sign-bundle', '--identity-token', 'x', '--bundle', 'x.json', '--fast', path.join(dir, 'a.txt')]],
  ])('%s: exit 2, E_USAGE', async (_name, args) => {
    const dir = tmp();
    writeFile(dir, 'a.txt', 'x');
    const result = await conformance(dir, args(dir));
    expect(result.status).toBe(2);
    expect(singleErrorLine(result.stderr).code).toBe('E_USAGE');
    expect(fs.existsSync(path.join(dir, 'x.json'))).toBe(false);
  });

  it('a token Fulcio refuses: exit 3, no bundle', async () => {
    const dir = tmp();
    writeFile(dir, 'a.txt', 'x');
    const expired = await stack.mintToken({ email: EMAIL, expiresIn: -60 });
    const result = await conformance(dir, ['sign-bundle', '--identity-token', expired, '--bundle', 'x.json', '--signing-config', stack.signingConfigPath, 'a.txt']);
    expect(result.status).toBe(3);
    expect(singleErrorLine(result.stderr).code).toBe('E_PERMISSION');
    expect(result.stderr).not.toContain(expired);
    expect(fs.existsSync(path.join(dir, 'x.json'))).toBe(false);
  });
});
