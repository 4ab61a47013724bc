// `signet bundle inspect FILE [--json]` through the built CLI: what a bundle claims, never called
// verified, with no trusted root and no network. The bundles are real: signed here by Signet
// (with a key, as an attestation, and keyless against the local Sigstore stack) or written by
// other projects (../shared/vectors, read in place). Expected values come from the bundle by
// other means: its JSON, its certificate (@peculiar/x509, node:crypto), its timestamps (openssl).
// A file that is not a bundle is refused exactly as `signet verify --bundle FILE` refuses it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SigstoreStack } from '@signet/emulators/sigstore';
import {
  certificateFacts,
  fulcioExtensions,
  generateKey,
  opensslTimestamp,
  type RunResult,
  readJson,
  sameSerial,
  signet,
  signetAsync,
  signetOk,
  singleErrorLine,
  snapshotDir,
  tool,
  useTempDir,
  vectorsDir,
  writeFile,
} from '@signet/test-support';

const tmp = useTempDir();
const vectors = vectorsDir();
if (!vectors) console.warn('shared vectors not found (set SIGNET_VECTORS=…/shared/vectors); the vector tests are not run');
const describeVectors = vectors ? describe : describe.skip;

const NOT_VERIFIED = 'not verified: this shows what the bundle claims; use signet verify to check it';
const RECORDER = path.resolve(__dirname, 'fixtures/record-modules.js');
const NO_NETWORK = path.resolve(__dirname, 'fixtures/no-network.js');
/** Modules that fetch or hold trust material: inspecting needs none of them. */
const TRUST_MODULES = ['@sigstore/tuf', 'tuf-js', '@sigstore/sign', 'make-fetch-happen'];

// biome-ignore lint/suspicious/noExplicitAny: the JSON description is read at any depth
type Json = Record<string, any>;

interface BundleJson {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    tlogEntries?: Json[];
    timestampVerificationData?: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  messageSignature?: { messageDigest: { algorithm: string; digest: string } };
  dsseEnvelope?: { payload: string; payloadType: string; signatures: unknown[] };
}

const hex = (base64: string) => Buffer.from(base64, 'base64').toString('hex');
const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

function inspect(dir: string, file: string, json = false): RunResult {
  return signetOk(['bundle', 'inspect', file, ...(json ? ['--json'] : [])], { cwd: dir });
}

function inspectJson(dir: string, file: string): Json {
  const result = inspect(dir, file, true);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Json;
}

/** The value printed beside a label (`  label     value`), in the first section holding it after `after`. */
function field(text: string, label: string, after?: string): string | undefined {
  const start = after ? text.indexOf(after) : 0;
  expect(start).toBeGreaterThanOrEqual(0);
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^ *${escaped} {2,}(\\S.*)$`, 'm').exec(text.slice(start))?.[1];
}

/** The text report says it verified nothing, once, and never says anything is verified. */
function expectUnverifiedText(text: string): void {
  expect(text.split('\n').filter((line) => /verif/i.test(line))).toEqual([NOT_VERIFIED]);
  // Values start in one column.
  const columns = new Set(
    text
      .split('\n')
      .map((line) => /^( *\S.*?) {2,}(\S.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => (match[0].length - (match[2] as string).length) as number),
  );
  expect(columns.size).toBe(1);
}

/** What each log entry of a bundle's JSON should be described as. */
function expectedTlogEntries(bundle: BundleJson): Json[] {
  return (bundle.verificationMaterial.tlogEntries ?? []).map((entry) => {
    const integratedTime = (entry.integratedTime as string | undefined) ?? '0';
    const proof = entry.inclusionProof as Json | undefined;
    return {
      logId: hex(entry.logId.keyId),
      logIndex: entry.logIndex ?? '0', // proto JSON leaves out zeros
      kind: entry.kindVersion.kind,
      version: entry.kindVersion.version,
      integratedTime,
      ...(integratedTime === '0' ? {} : { integratedAt: new Date(Number(integratedTime) * 1000).toISOString() }),
      inclusionPromise: entry.inclusionPromise !== undefined,
      ...(proof && {
        inclusionProof: {
          logIndex: proof.logIndex ?? '0',
          treeSize: proof.treeSize ?? '0',
          rootHash: hex(proof.rootHash),
          hashes: (proof.hashes ?? []).length,
          ...(proof.checkpoint && { checkpoint: { origin: proof.checkpoint.envelope.split('\n')[0] } }),
        },
      }),
    };
  });
}

/** The signer a certificate-signed bundle should be described with, read from its certificate by @peculiar/x509 and node:crypto. */
function expectedCertificateSigner(bundle: BundleJson): Json {
  const material = bundle.verificationMaterial;
  const certificates = material.x509CertificateChain?.certificates ?? (material.certificate ? [material.certificate] : []);
  const facts = certificateFacts(Buffer.from(certificates[0]?.rawBytes ?? '', 'base64'));
  const extensions = fulcioExtensions(facts);
  return {
    kind: 'certificate',
    subject: facts.subject,
    issuer: extensions.issuer,
    issuedBy: facts.issuerName,
    serialNumber: facts.serialNumber,
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    extensions,
    chainLength: certificates.length,
  };
}

/** The signing time and TSA name of each RFC 3161 timestamp, as openssl reads them. */
function expectedTimestamps(bundle: BundleJson): Json[] {
  return (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).map(({ signedTimestamp }) => {
    const read = opensslTimestamp(Buffer.from(signedTimestamp, 'base64'));
    return {
      signingTime: read.time.toISOString(),
      ...(read.tsa
        ? {
            tsaName: read.tsa
              .replace(/^DirName:\//, '')
              .split('/')
              .join(', '),
          }
        : {}),
    };
  });
}

/** The JSON description's timestamps, their serials held against openssl's (a number, not bytes). */
function timestampsOf(description: Json, bundle: BundleJson): Json[] {
  const raw = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
  return (description.timestamps as Json[]).map(({ serialNumber, ...rest }, i) => {
    const expected = opensslTimestamp(Buffer.from(raw[i]?.signedTimestamp ?? '', 'base64')).serialNumber;
    expect([serialNumber, sameSerial(serialNumber, expected)]).toEqual([serialNumber, true]);
    return rest;
  });
}

describe('bundles Signet signs with a key', () => {
  test('a message signature: the digest of the file, the key by hint and fingerprint, no log entry, no timestamp', () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'signing');
    writeFile(dir, 'app.tgz', crypto.randomBytes(4096));
    signetOk(['sign', 'app.tgz', '--key', key], { cwd: dir });
    const spki = crypto.createPublicKey(fs.readFileSync(path.join(dir, pub))).export({ type: 'spki', format: 'der' });

    const description = inspectJson(dir, 'app.tgz.sigstore.json');
    expect(description).toEqual({
      ok: true,
      bundle: 'app.tgz.sigstore.json',
      verified: false,
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      version: '0.3',
      content: { kind: 'messageSignature', digest: { algorithm: 'sha256', hex: sha256(fs.readFileSync(path.join(dir, 'app.tgz'))) } },
      signer: {
        kind: 'publicKey',
        hint: crypto.createHash('sha256').update(spki).digest('base64'),
        fingerprint: `sha256:${sha256(spki)}`,
      },
      tlogEntries: [],
      timestamps: [],
    });

    const result = inspect(dir, 'app.tgz.sigstore.json');
    expect(result.stderr).toBe('');
    const text = result.stdout;
    expect(text.split('\n').slice(0, 2)).toEqual(['Sigstore bundle v0.3 (application/vnd.dev.sigstore.bundle.v0.3+json)', NOT_VERIFIED]);
    expectUnverifiedText(text);
    expect(text).toContain('\nContent: message signature\n');
    expect(field(text, 'digest')).toBe(`sha256:${description.content.digest.hex}`);
    expect(text).toContain('\nSigner: public key\n');
    expect(field(text, 'key hint')).toBe(description.signer.hint);
    expect(field(text, 'fingerprint')).toBe(`sha256:${sha256(spki)}`);
    expect(text).toContain('\nTransparency log: no entries\n');
    expect(text).toContain('\nRFC 3161 timestamps: none\n');
  });

  test('an attestation: the DSSE envelope, its statement, predicate type and each subject with its digest', () => {
    const dir = tmp();
    const { key } = generateKey(dir, 'signing');
    writeFile(dir, 'app.tgz', crypto.randomBytes(1024));
    writeFile(dir, 'sbom.cdx.json', JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 }));
    signetOk(['attest', 'app.tgz', '--predicate', 'sbom.cdx.json', '--type', 'cyclonedx', '--key', key], { cwd: dir });
    const bundle = readJson(dir, 'app.tgz.cyclonedx.sigstore.json') as unknown as BundleJson;
    const payload = Buffer.from(bundle.dsseEnvelope?.payload ?? '', 'base64');
    const statement = JSON.parse(payload.toString('utf8')) as Json;

    const description = inspectJson(dir, 'app.tgz.cyclonedx.sigstore.json');
    expect(description.content).toEqual({
      kind: 'dsseEnvelope',
      payloadType: 'application/vnd.in-toto+json',
      payloadBytes: payload.length,
      signatures: 1,
      statement: {
        type: 'https://in-toto.io/Statement/v1',
        predicateType: 'https://cyclonedx.org/bom',
        subjects: [{ name: 'app.tgz', digest: { sha256: sha256(fs.readFileSync(path.join(dir, 'app.tgz'))) } }],
      },
    });
    expect(description.content.statement.subjects).toEqual(statement.subject);

    const text = inspect(dir, 'app.tgz.cyclonedx.sigstore.json').stdout;
    expectUnverifiedText(text);
    expect(text).toContain('\nContent: DSSE envelope\n');
    expect(field(text, 'payload type')).toBe(`application/vnd.in-toto+json (${payload.length} bytes)`);
    expect(field(text, 'signatures')).toBe('1');
    expect(field(text, 'statement type')).toBe('https://in-toto.io/Statement/v1');
    expect(field(text, 'predicate type')).toBe('https://cyclonedx.org/bom');
    expect(field(text, 'subjects')).toBe('1');
    expect(text).toMatch(/\n {4}app\.tgz\n/);
    expect(field(text, 'sha256', '    app.tgz')).toBe(description.content.statement.subjects[0].digest.sha256);
  });
});

describe('a keyless bundle from the local Sigstore stack (Fulcio, Rekor, TSA)', () => {
  const stack = new SigstoreStack();
  let cacheHome: string;
  beforeAll(async () => {
    await stack.start();
    cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-inspect-cache-'));
  });
  afterAll(async () => {
    await stack.stop();
    fs.rmSync(cacheHome, { recursive: true, force: true });
  });

  /** A GitHub Actions-style token: Fulcio copies its claims into the certificate's extensions. */
  const githubToken = () =>
    stack.mintToken({
      subject: 'repo:octo/app:ref:refs/tags/v1.2.0',
      claims: {
        job_workflow_ref: 'octo/release-workflows/.github/workflows/release.yml@refs/heads/main',
        job_workflow_sha: 'b'.repeat(40),
        workflow_ref: 'octo/app/.github/workflows/publish.yml@refs/tags/v1.2.0',
        workflow_sha: 'a'.repeat(40),
        repository: 'octo/app',
        repository_id: '1234',
        repository_owner: 'octo',
        repository_owner_id: '5678',
        repository_visibility: 'public',
        ref: 'refs/tags/v1.2.0',
        sha: 'a'.repeat(40),
        event_name: 'push',
        runner_environment: 'github-hosted',
        run_id: '42',
        run_attempt: '1',
      },
    });

  test('the certificate: identity, OIDC issuer, validity and every Fulcio extension; the Rekor entry; the TSA timestamp', async () => {
    const dir = tmp();
    writeFile(dir, 'app.tgz', crypto.randomBytes(2048));
    const signed = await signetAsync(['sign', 'app.tgz', '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      cwd: dir,
      env: { SIGSTORE_ID_TOKEN: await githubToken(), XDG_CACHE_HOME: cacheHome },
    });
    expect(signed.status).toBe(0);
    const bundle = readJson(dir, 'app.tgz.sigstore.json') as unknown as BundleJson;
    const signer = expectedCertificateSigner(bundle);
    // Not vacuous: the certificate carries the GitHub extensions, and the bundle an entry and a timestamp.
    expect(signer.extensions).toMatchObject({
      issuer: stack.oidc.url,
      sourceRepository: 'https://github.com/octo/app',
      sourceRepositoryRef: 'refs/tags/v1.2.0',
      buildSignerURI: 'https://github.com/octo/release-workflows/.github/workflows/release.yml@refs/heads/main',
      runInvocationURI: 'https://github.com/octo/app/actions/runs/42/attempts/1',
    });
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);

    // With every connection refused: inspecting reaches no service.
    const args = ['bundle', 'inspect', 'app.tgz.sigstore.json'];
    const description = JSON.parse(signetOk([...args, '--json'], { cwd: dir, nodeArgs: ['-r', NO_NETWORK] }).stdout) as Json;
    expect(description.verified).toBe(false);
    expect(description.signer).toEqual(signer);
    expect(description.tlogEntries).toEqual(expectedTlogEntries(bundle));
    expect(timestampsOf(description, bundle)).toEqual(expectedTimestamps(bundle));
    expect(description.content.digest.hex).toBe(sha256(fs.readFileSync(path.join(dir, 'app.tgz'))));

    const text = signetOk(args, { cwd: dir, nodeArgs: ['-r', NO_NETWORK] }).stdout;
    expectUnverifiedText(text);
    expect(text).toContain('\nSigner: certificate\n');
    expect(field(text, 'subject')).toBe(signer.subject);
    expect(field(text, 'issuer')).toBe(stack.oidc.url);
    expect(field(text, 'issued by')).toBe(signer.issuedBy);
    expect(field(text, 'not before')).toBe(signer.notBefore);
    expect(field(text, 'not after')).toBe(signer.notAfter);
    expect(field(text, 'source repository')).toBe('https://github.com/octo/app');
    expect(field(text, 'source repository ref')).toBe('refs/tags/v1.2.0');
    expect(field(text, 'source repository digest')).toBe('a'.repeat(40));
    expect(field(text, 'build signer URI')).toBe(signer.extensions.buildSignerURI);
    expect(field(text, 'runner environment')).toBe('github-hosted');
    expect(field(text, 'build trigger')).toBe('push');
    expect(field(text, 'run invocation URI')).toBe(signer.extensions.runInvocationURI);
    const [entry] = description.tlogEntries as Json[];
    expect(field(text, 'entry 1')).toBe(`${entry?.kind} ${entry?.version}`);
    expect(field(text, 'log id')).toBe(entry?.logId);
    expect(field(text, 'log index')).toBe(entry?.logIndex);
    expect(field(text, 'integrated time')).toBe(`${entry?.integratedAt} (as the entry claims)`);
    expect(field(text, 'inclusion promise')).toBe(entry?.inclusionPromise ? 'yes (a signed entry timestamp)' : 'no');
    expect(field(text, 'inclusion proof')).toMatch(new RegExp(`^tree size ${entry?.inclusionProof.treeSize}, `));
    const [timestamp] = description.timestamps as Json[];
    expect(field(text, 'signing time', 'RFC 3161 timestamps: 1')).toBe(`${timestamp?.signingTime} (as the TSA claims)`);
  });

  test('needs no trusted root and no network, and loads nothing that fetches one; the control (verify) does', async () => {
    const dir = tmp();
    writeFile(dir, 'app.tgz', crypto.randomBytes(512));
    const signed = await signetAsync(['sign', 'app.tgz', '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      cwd: dir,
      env: { SIGSTORE_ID_TOKEN: await stack.mintToken({ email: 'release@example.com' }), XDG_CACHE_HOME: cacheHome },
    });
    expect(signed.status).toBe(0);
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-inspect-empty-cache-'));
    const modulesFile = path.join(cache, '..', `${path.basename(cache)}.modules.json`);
    try {
      // Not offline, nothing cached: anything that wanted the public-good root would have to fetch it.
      const env = { SIGNET_OFFLINE: undefined, XDG_CACHE_HOME: cache, HOME: cache, SIGNET_TEST_MODULES_FILE: modulesFile };
      const nodeArgs = ['-r', RECORDER, '-r', NO_NETWORK];
      const inspected = signet(['bundle', 'inspect', 'app.tgz.sigstore.json', '--json'], { cwd: dir, env, nodeArgs });
      expect([inspected.status, inspected.stderr]).toEqual([0, '']);
      expect(JSON.parse(inspected.stdout).verified).toBe(false);
      const modules = JSON.parse(fs.readFileSync(modulesFile, 'utf8')) as string[];
      expect(modules.some((file) => file.endsWith(`dist${path.sep}signet.cjs`))).toBe(true);
      expect(modules.filter((file) => TRUST_MODULES.some((name) => file.includes(name)))).toEqual([]);
      expect(fs.readdirSync(cache)).toEqual([]);

      // The control: verifying the same bundle without a trusted root goes to fetch the public-good one.
      const verified = signet(
        ['verify', 'app.tgz', '--certificate-identity', 'release@example.com', '--certificate-oidc-issuer', stack.oidc.url],
        {
          cwd: dir,
          env,
          nodeArgs,
        },
      );
      expect(verified.status).toBe(97);
      expect(verified.stderr).toContain('network used');
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
      fs.rmSync(modulesFile, { force: true });
    }
  });

  test('takes no trust flags: a trusted root or key is a usage error, not something it checks against', () => {
    const dir = tmp();
    writeFile(dir, 'x.json', '{}');
    for (const flag of [
      ['--trusted-root', 'trusted_root.json'],
      ['--key', 'signing.pub'],
    ]) {
      const result = signet(['bundle', 'inspect', 'x.json', ...flag], { cwd: dir });
      expect([result.status, singleErrorLine(result.stderr).code]).toEqual([2, 'E_USAGE']);
      expect(result.stderr).toContain(flag[0]);
    }
  });
});

describeVectors('other projects’ bundles (../shared/vectors, read in place)', () => {
  const dir = vectors as string;
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as BundleJson;
  const conformance = (name: string) => `sigstore-conformance-assets/bundle-verify/${name}/bundle.sigstore.json`;
  const provenance = () =>
    fs
      .readdirSync(path.join(dir, 'npm-provenance'))
      .filter((name) => name.endsWith('.provenance.sigstore.json'))
      .map((name) => `npm-provenance/${name}`);

  test.each(provenance())('npm provenance %s: GitHub Actions keyless, the identity and extensions as the certificate has them', (file) => {
    const bundle = read(file);
    const description = inspectJson(tmp(), path.join(dir, file));
    const signer = expectedCertificateSigner(bundle);
    expect(description).toMatchObject({ ok: true, verified: false, version: '0.1', signer, tlogEntries: expectedTlogEntries(bundle) });
    expect(signer.issuer).toBe('https://token.actions.githubusercontent.com');
    expect(signer.extensions.sourceRepository).toMatch(/^https:\/\/github\.com\//);
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope?.payload ?? '', 'base64').toString('utf8')) as Json;
    expect(description.content.statement).toEqual({
      type: statement._type,
      predicateType: statement.predicateType,
      subjects: statement.subject,
    });

    const text = inspect(tmp(), path.join(dir, file)).stdout;
    expectUnverifiedText(text);
    expect(field(text, 'subject')).toBe(signer.subject);
    expect(field(text, 'issuer')).toBe(signer.issuer);
    expect(field(text, 'source repository')).toBe(signer.extensions.sourceRepository);
    expect(field(text, 'source repository ref')).toBe(signer.extensions.sourceRepositoryRef);
    expect(field(text, 'source repository digest')).toBe(signer.extensions.sourceRepositoryDigest);
    expect(field(text, 'predicate type')).toBe(statement.predicateType);
    expect(field(text, 'sha512', `    ${statement.subject[0].name}`)).toBe(statement.subject[0].digest.sha512);
  });

  test('a Rekor v2 entry (hashedrekord 0.0.2): no log time, no promise, a checkpoint by origin; the TSA gives the time', () => {
    const file = conformance('rekor2-happy-path');
    const bundle = read(file);
    expect(JSON.stringify(bundle.verificationMaterial.tlogEntries)).toContain('"0.0.2"');
    const description = inspectJson(tmp(), path.join(dir, file));
    expect(description.tlogEntries).toEqual(expectedTlogEntries(bundle));
    expect(description.signer).toEqual(expectedCertificateSigner(bundle));
    expect(timestampsOf(description, bundle)).toEqual(expectedTimestamps(bundle));

    const text = inspect(tmp(), path.join(dir, file)).stdout;
    expectUnverifiedText(text);
    const origin = String(bundle.verificationMaterial.tlogEntries?.[0]?.inclusionProof.checkpoint.envelope).split('\n')[0];
    expect(field(text, 'entry 1')).toBe('hashedrekord 0.0.2');
    expect(field(text, 'integrated time')).toBe('0 (Rekor v2: no log time)');
    expect(field(text, 'inclusion promise')).toBe('no');
    expect(field(text, 'checkpoint')).toBe(origin);
    expect(field(text, 'TSA')).toBe(expectedTimestamps(bundle)[0]?.tsaName);
  });

  test('a Rekor v2 DSSE entry and the bundle versions 0.1, 0.2 and 0.3', () => {
    const versions = Object.fromEntries(
      ['happy-path-v0.1', 'happy-path-v0.2', 'happy-path-v0.3', 'rekor2-dsse-happy-path'].map((name) => [
        name,
        inspectJson(tmp(), path.join(dir, conformance(name))).version,
      ]),
    );
    expect(versions).toEqual({
      'happy-path-v0.1': '0.1',
      'happy-path-v0.2': '0.2',
      'happy-path-v0.3': '0.3',
      'rekor2-dsse-happy-path': '0.3',
    });
    const dsse = inspectJson(tmp(), path.join(dir, conformance('rekor2-dsse-happy-path')));
    expect(dsse.content.kind).toBe('dsseEnvelope');
    expect(dsse.tlogEntries).toEqual(expectedTlogEntries(read(conformance('rekor2-dsse-happy-path'))));
  });

  test('cosign’s OCI attestation: a DSSE entry, an email identity and its issuer from the certificate', () => {
    const file = 'cosign/oci-attestation.sigstore.json';
    const bundle = read(file);
    const description = inspectJson(tmp(), path.join(dir, file));
    const signer = expectedCertificateSigner(bundle);
    expect(description.signer).toEqual(signer);
    expect(signer.subject).toMatch(/@/);
    expect(description.tlogEntries).toEqual(expectedTlogEntries(bundle));
    expect(description.tlogEntries[0]).toMatchObject({ kind: 'dsse', version: '0.0.1', inclusionPromise: true });
    const text = inspect(tmp(), path.join(dir, file)).stdout;
    expect(field(text, 'subject')).toBe(signer.subject);
    expect(field(text, 'issuer')).toBe(signer.issuer);
    expect(field(text, 'integrated time')).toBe(`${description.tlogEntries[0].integratedAt} (as the entry claims)`);
  });
});

describe('a file that is not a bundle is refused as signet verify refuses it', () => {
  let fixture: string;
  beforeAll(() => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-inspect-fixture-'));
    generateKey(fixture, 'signing');
    writeFile(fixture, 'app.js', 'console.log("release")\n');
  });
  afterAll(() => fs.rmSync(fixture, { recursive: true, force: true }));

  /** `bundle inspect FILE` and `verify app.js --bundle FILE`: the same one line, code and status, and nothing written. */
  async function bothRefuse(dir: string, file: string): Promise<{ status: number | null; code: string; message: string }> {
    const before = snapshotDir(dir);
    const timeoutMs = 20_000;
    const [inspected, verified] = await Promise.all([
      signetAsync(['bundle', 'inspect', file], { cwd: dir, timeoutMs }),
      signetAsync(['verify', 'app.js', '--bundle', file, '--key', 'signing.pub'], { cwd: dir, timeoutMs }),
    ]);
    const inspectError = singleErrorLine(inspected.stderr);
    expect(inspected.stdout).toBe('');
    expect({ status: inspected.status, ...inspectError }).toEqual({ status: verified.status, ...singleErrorLine(verified.stderr) });
    expect(snapshotDir(dir)).toEqual(before);
    // --json: the error as JSON on stdout, the same code.
    const json = await signetAsync(['bundle', 'inspect', file, '--json'], { cwd: dir, timeoutMs });
    expect(json.status).toBe(inspected.status);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: inspectError });
    return { status: inspected.status, ...inspectError };
  }

  function setup(): string {
    const dir = tmp();
    fs.cpSync(fixture, dir, { recursive: true });
    return dir;
  }

  test.each([
    ['not JSON', 'this is not JSON {', /is not valid JSON/],
    ['empty', '', /is empty/],
    ['a JSON array', '[1, 2]', /is not a Sigstore bundle/],
    ['JSON without a media type', JSON.stringify({ hello: 'world' }), /has no mediaType/],
    ['an unknown media type', JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v9.9+json' }), /unsupported media type/],
    [
      'a bundle missing its content',
      JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }),
      /not a valid Sigstore bundle/,
    ],
  ])('%s: E_BUNDLE, exit 2', async (_what, content, message) => {
    const dir = setup();
    writeFile(dir, 'bad.sigstore.json', content);
    const refused = await bothRefuse(dir, 'bad.sigstore.json');
    expect([refused.status, refused.code]).toEqual([2, 'E_BUNDLE']);
    expect(refused.message).toMatch(message);
  });

  test('a missing file, a directory, a FIFO and a link to a device: E_INPUT, exit 2, never waiting on the FIFO', async () => {
    const dir = setup();
    fs.mkdirSync(path.join(dir, 'folder.sigstore.json'));
    tool('mkfifo', ['fifo.sigstore.json'], dir);
    fs.symlinkSync('/dev/zero', path.join(dir, 'device.sigstore.json'));
    for (const file of ['missing.sigstore.json', 'folder.sigstore.json', 'fifo.sigstore.json', 'device.sigstore.json']) {
      const refused = await bothRefuse(dir, file);
      expect([file, refused.status, refused.code]).toEqual([file, 2, 'E_INPUT']);
      expect(refused.message).toContain(file);
    }
  });

  describeVectors('vectors', () => {
    test.each(['bundle-malformed-json_fail', 'bundle-unknown-version_fail', 'bundle-empty-certificate-chain_fail'])(
      'the conformance case %s: E_BUNDLE from both',
      async (name) => {
        const refused = await bothRefuse(
          setup(),
          path.join(vectors as string, `sigstore-conformance-assets/bundle-verify/${name}/bundle.sigstore.json`),
        );
        expect([refused.status, refused.code]).toEqual([2, 'E_BUNDLE']);
      },
    );
  });
});

describe('the command line', () => {
  test('signet bundle without a command, or with an unknown one: E_USAGE naming inspect, exit 2', () => {
    const dir = tmp();
    for (const args of [['bundle'], ['bundle', 'show']]) {
      const result = signet(args, { cwd: dir });
      const { code, message } = singleErrorLine(result.stderr);
      expect([result.status, code]).toEqual([2, 'E_USAGE']);
      expect(message).toContain('inspect');
      expect(result.stdout).toBe('');
    }
    const noFile = signet(['bundle', 'inspect'], { cwd: dir });
    expect([noFile.status, singleErrorLine(noFile.stderr).code]).toEqual([2, 'E_USAGE']);
  });

  test('help: signet --help lists it, signet bundle --help and bundle inspect --help explain it', () => {
    const dir = tmp();
    expect(signetOk(['--help'], { cwd: dir }).stdout).toMatch(/^ {2}bundle inspect +show what a Sigstore bundle contains/m);
    expect(signetOk(['bundle', '--help'], { cwd: dir }).stdout).toContain('Usage: signet bundle <command> [options]');
    const help = signetOk(['bundle', 'inspect', '--help'], { cwd: dir }).stdout;
    expect(help).toContain('Usage: signet bundle inspect <bundle> [options]');
    expect(help).toContain('--json');
    expect(help).toMatch(/^Examples?:/m);
  });
});
