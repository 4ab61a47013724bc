// `signet sign/attest --key keyless` and identity-checked `signet verify`, through the built CLI
// in a child process, against a private Sigstore stack (OIDC issuer, Fulcio, Rekor, TSA, TUF)
// served from this test process on 127.0.0.1. The library-level round trips are in
// packages/core/test/keyless-stack.test.ts; these are what a user meets: flags, environment
// variables, exit statuses, one-line errors, and files written or not.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SigstoreStack } from '@signet/emulators/sigstore';
import {
  errorLines,
  type RunResult,
  readJson,
  signetAsync,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  vectorsDir,
  writeFile,
} from '@signet/test-support';

const EMAIL = 'release@example.com';
const CYCLONEDX = { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 };

const stack = new SigstoreStack();
/** XDG_CACHE_HOME for every child: the TUF cache goes here, never into the user's home. */
let cacheHome: string;

beforeAll(async () => {
  await stack.start();
  cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-keyless-cache-'));
});
afterAll(async () => {
  await stack.stop();
  fs.rmSync(cacheHome, { recursive: true, force: true });
});
afterEach(() => {
  for (const service of stack.services) service.faults.clear();
});

const tmp = useTempDir();

/**
 * Runs signet without blocking (the stack answers from this process). No identity token
 * reaches the child unless a test gives one: CI runners set these variables themselves.
 */
function run(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return signetAsync(args, {
    cwd: dir,
    env: {
      SIGSTORE_ID_TOKEN: undefined,
      ACTIONS_ID_TOKEN_REQUEST_URL: undefined,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined,
      XDG_CACHE_HOME: cacheHome,
      ...env,
    },
  });
}

async function ok(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const result = await run(dir, args, env);
  if (result.status !== 0) throw new Error(`signet ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** A command that must fail: its status, its one error line, and proof it wrote nothing. */
async function fails(dir: string, args: string[], env: Record<string, string | undefined> = {}) {
  const before = snapshotDir(dir);
  const result = await run(dir, args, env);
  expect(snapshotDir(dir)).toEqual(before);
  expect(result.stdout).toBe('');
  const { code, message } = singleErrorLine(result.stderr);
  return { status: result.status, code, message, output: result.stdout + result.stderr };
}

const token = (options: Parameters<SigstoreStack['mintToken']>[0] = {}) => stack.mintToken({ email: EMAIL, ...options });

function artifact(dir: string, name = 'app.tgz'): string {
  writeFile(dir, name, crypto.randomBytes(2048));
  return name;
}

/** `signet sign NAME --key keyless` with the stack's signing config and a fresh token. */
async function signKeyless(dir: string, name: string, email = EMAIL): Promise<RunResult> {
  return ok(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
    SIGSTORE_ID_TOKEN: await token({ email }),
  });
}

const byEmail = (email = EMAIL) => ['--certificate-identity', email, '--certificate-oidc-issuer', stack.oidc.url];
const trustedRoot = () => ['--trusted-root', stack.trustedRootPath];

interface BundleJson {
  verificationMaterial: {
    certificate?: { rawBytes: string };
    publicKey?: { hint: string };
    tlogEntries: Array<{ logIndex: string; kindVersion: { kind: string }; inclusionProof: { hashes: string[] } }>;
    timestampVerificationData?: { rfc3161Timestamps: unknown[] };
  };
  messageSignature?: unknown;
  dsseEnvelope?: unknown;
}

const bundleOf = (dir: string, name: string) => readJson(dir, name) as unknown as BundleJson;

/** The certificate in a bundle, parsed. */
function certificateOf(bundle: BundleJson): crypto.X509Certificate {
  const raw = bundle.verificationMaterial.certificate?.rawBytes;
  if (!raw) throw new Error('the bundle has no certificate');
  return new crypto.X509Certificate(Buffer.from(raw, 'base64'));
}

/** Copies a bundle and its artifact into `dir`, the bundle changed as an attacker would. */
function edited(from: string, to: string, name: string, edit: (bundle: BundleJson) => void): void {
  fs.copyFileSync(path.join(from, name), path.join(to, name));
  const bundle = bundleOf(from, `${name}.sigstore.json`);
  edit(bundle);
  writeFile(to, `${name}.sigstore.json`, JSON.stringify(bundle));
}

interface VerifyJson {
  ok: boolean;
  signer: { kind: string; subject?: string; issuer?: string; name?: string };
  timestamps: Array<{ source: string; time: string }>;
  tlogEntries: number;
  statement?: { predicateType: string };
}

const parsed = (result: RunResult) => JSON.parse(result.stdout) as VerifyJson;

describe('signet sign --key keyless, then signet verify by identity', () => {
  it('with a signing config and SIGSTORE_ID_TOKEN: a certificate, a Rekor entry and a timestamp, verified by exact identity', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const identityToken = await token();
    const fulcioBefore = stack.fulcio.calls('CreateSigningCertificate').length;
    const rekorBefore = stack.rekor.calls('CreateEntry').length;
    const tsaBefore = stack.tsa.calls('Timestamp').length;
    const signed = await ok(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      SIGSTORE_ID_TOKEN: identityToken,
    });
    expect(signed.stderr).toBe(`wrote ${name}.sigstore.json\n`);
    expect(signed.stdout + signed.stderr).not.toContain(identityToken);
    expect(stack.fulcio.calls('CreateSigningCertificate').length - fulcioBefore).toBe(1);
    expect(stack.rekor.calls('CreateEntry').length - rekorBefore).toBe(1);
    expect(stack.tsa.calls('Timestamp').length - tsaBefore).toBe(1);

    const bundle = bundleOf(dir, `${name}.sigstore.json`);
    expect(bundle.messageSignature).toBeDefined();
    expect(certificateOf(bundle).subjectAltName).toBe(`email:${EMAIL}`);
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(bundle.verificationMaterial.tlogEntries[0]?.kindVersion.kind).toBe('hashedrekord');
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    // The ephemeral private key never touched the disk: the bundle is all that was written.
    expect(fs.readdirSync(dir).sort()).toEqual([name, `${name}.sigstore.json`]);

    const verified = await ok(dir, ['verify', name, ...byEmail(), ...trustedRoot(), '--json']);
    const result = parsed(verified);
    expect(result.ok).toBe(true);
    expect(result.signer).toEqual({ kind: 'certificate', subject: EMAIL, issuer: stack.oidc.url, extensions: { issuer: stack.oidc.url } });
    expect(result.tlogEntries).toBe(1);
    expect(result.timestamps.map((t) => t.source).sort()).toEqual(['timestamp-authority', 'transparency-log']);
    expect(verified.stderr).toBe('');

    const human = await ok(dir, ['verify', name, ...byEmail(), ...trustedRoot()]);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`Verified OK: ${name}\n  signed by ${EMAIL} (issuer ${stack.oidc.url})\n`);
  });

  it('verifies by an identity pattern that matches the whole identity, and by an issuer pattern', async () => {
    const dir = tmp();
    const name = artifact(dir);
    await signKeyless(dir, name);
    const byPattern = await ok(dir, [
      'verify',
      name,
      '--certificate-identity-regexp',
      'release@example\\.(com|org)',
      '--certificate-oidc-issuer',
      stack.oidc.url,
      ...trustedRoot(),
      '--json',
    ]);
    expect(parsed(byPattern).signer.subject).toBe(EMAIL);
    const issuerPattern = await ok(dir, [
      'verify',
      name,
      '--certificate-identity',
      EMAIL,
      '--certificate-oidc-issuer-regexp',
      'http://127\\.0\\.0\\.1:\\d+',
      ...trustedRoot(),
      '--json',
    ]);
    expect(parsed(issuerPattern).signer.issuer).toBe(stack.oidc.url);
  });

  it('verifies with the trusted root fetched through the stack’s TUF repository, cached under XDG_CACHE_HOME', async () => {
    const dir = tmp();
    const name = artifact(dir);
    await signKeyless(dir, name);
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-keyless-tuf-'));
    try {
      const targetsBefore = stack.tuf.calls('Target').length;
      const verified = await ok(
        dir,
        ['verify', name, ...byEmail(), '--tuf-mirror', stack.tuf.url, '--tuf-root', stack.tufRootPath, '--json'],
        {
          XDG_CACHE_HOME: cache,
        },
      );
      expect(parsed(verified).signer).toEqual({
        kind: 'certificate',
        subject: EMAIL,
        issuer: stack.oidc.url,
        extensions: { issuer: stack.oidc.url },
      });
      expect(stack.tuf.calls('Target').length - targetsBefore).toBe(1);
      const cached = fs
        .readdirSync(path.join(cache, 'signet', 'tuf'), { recursive: true, encoding: 'utf8' })
        .map((file) => path.basename(file));
      expect(cached).toEqual(expect.arrayContaining(['root.json', 'timestamp.json', 'snapshot.json', 'targets.json', 'trusted_root.json']));
      // Nothing beside the artifact and its bundle: the cache is not written to the working directory.
      expect(fs.readdirSync(dir).sort()).toEqual([name, `${name}.sigstore.json`]);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it('with --fulcio-url, --rekor-url and --tsa-url instead of a signing config; without --tsa-url, no timestamp', async () => {
    const dir = tmp();
    const stamped = artifact(dir, 'stamped.bin');
    const urls = ['--fulcio-url', stack.fulcio.url, '--rekor-url', stack.rekor.url];
    await ok(dir, ['sign', stamped, '--key', 'keyless', ...urls, '--tsa-url', `${stack.tsa.url}/api/v1/timestamp`], {
      SIGSTORE_ID_TOKEN: await token(),
    });
    expect(bundleOf(dir, `${stamped}.sigstore.json`).verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    const stampedResult = parsed(await ok(dir, ['verify', stamped, ...byEmail(), ...trustedRoot(), '--json']));
    expect(stampedResult.timestamps.map((t) => t.source).sort()).toEqual(['timestamp-authority', 'transparency-log']);

    const logged = artifact(dir, 'logged.bin');
    await ok(dir, ['sign', logged, '--key', 'keyless', ...urls], { SIGSTORE_ID_TOKEN: await token() });
    const bundle = bundleOf(dir, `${logged}.sigstore.json`);
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).toHaveLength(0);
    const loggedResult = parsed(await ok(dir, ['verify', logged, ...byEmail(), ...trustedRoot(), '--json']));
    expect(loggedResult.timestamps.map((t) => t.source)).toEqual(['transparency-log']);
  });

  it('with --identity-token, which wins over SIGSTORE_ID_TOKEN and is never printed', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const flagToken = await token({ email: 'flag@example.com' });
    const signed = await ok(
      dir,
      ['sign', name, '--key', 'keyless', '--identity-token', flagToken, '--signing-config', stack.signingConfigPath, '--json'],
      {
        SIGSTORE_ID_TOKEN: await token({ email: 'env@example.com' }),
      },
    );
    expect(signed.stdout + signed.stderr).not.toContain(flagToken);
    expect(JSON.parse(signed.stdout)).toEqual({ ok: true, key: 'keyless', signed: [{ artifact: name, bundle: `${name}.sigstore.json` }] });
    expect(certificateOf(bundleOf(dir, `${name}.sigstore.json`)).subjectAltName).toBe('email:flag@example.com');
    await ok(dir, ['verify', name, ...byEmail('flag@example.com'), ...trustedRoot()]);
  });

  it('GitHub Actions style: the token from ACTIONS_ID_TOKEN_REQUEST_URL, asked for audience "sigstore"', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const requestToken = 'gha-request-token-not-a-jwt';
    const tokensBefore = stack.oidc.calls('Token').length;
    const signed = await ok(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${stack.oidc.url}/token?email=${encodeURIComponent('ci@example.com')}`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
    });
    expect(signed.stdout + signed.stderr).not.toContain(requestToken);
    const requests = stack.oidc.calls('Token').slice(tokensBefore);
    expect(requests).toHaveLength(1);
    const query = new URLSearchParams(requests[0]?.query ?? '');
    expect(query.get('audience')).toBe('sigstore');
    expect(query.get('email')).toBe('ci@example.com');
    expect(requests[0]?.headers.authorization).toBe('[redacted]');
    await ok(dir, ['verify', name, ...byEmail('ci@example.com'), ...trustedRoot()]);
  });

  it('a workflow identity (job_workflow_ref) verifies by pattern; --github-repository pins the GitHub issuer and refuses it', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const workflow = 'octo/app/.github/workflows/release.yml@refs/tags/v1.0.0';
    const url = new URL(`${stack.oidc.url}/token`);
    url.searchParams.set('sub', 'repo:octo/app:ref:refs/tags/v1.0.0');
    url.searchParams.set('job_workflow_ref', workflow);
    await ok(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      ACTIONS_ID_TOKEN_REQUEST_URL: url.href,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'anything',
    });
    expect(certificateOf(bundleOf(dir, `${name}.sigstore.json`)).subjectAltName).toBe(`URI:https://github.com/${workflow}`);
    const verified = await ok(dir, [
      'verify',
      name,
      '--certificate-identity-regexp',
      'https://github\\.com/octo/app/\\.github/workflows/[^@]+@refs/tags/v.+',
      '--certificate-oidc-issuer',
      stack.oidc.url,
      ...trustedRoot(),
      '--json',
    ]);
    expect(parsed(verified).signer.subject).toBe(`https://github.com/${workflow}`);
    // The shortcut means GitHub's issuer, which this stack's OIDC issuer is not.
    const refused = await fails(dir, ['verify', name, '--github-repository', 'octo/app', ...trustedRoot()]);
    expect([refused.status, refused.code]).toEqual([1, 'E_POLICY']);
    expect(refused.message).toContain('https://token.actions.githubusercontent.com');
  });
});

describe('several artifacts, one keyless signer', () => {
  it('signs three files with one certificate (one Fulcio request), three log entries, each bundle verifying', async () => {
    const dir = tmp();
    const names = ['a.bin', 'b.bin', 'c.bin'].map((name) => artifact(dir, name));
    const fulcioBefore = stack.fulcio.calls('CreateSigningCertificate').length;
    const rekorBefore = stack.rekor.calls('CreateEntry').length;
    await ok(dir, ['sign', ...names, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      SIGSTORE_ID_TOKEN: await token(),
    });
    expect(stack.fulcio.calls('CreateSigningCertificate').length - fulcioBefore).toBe(1);
    expect(stack.rekor.calls('CreateEntry').length - rekorBefore).toBe(3);
    const indexes = new Set<string>();
    for (const name of names) {
      const bundle = bundleOf(dir, `${name}.sigstore.json`);
      indexes.add(bundle.verificationMaterial.tlogEntries[0]?.logIndex ?? '');
      await ok(dir, ['verify', name, ...byEmail(), ...trustedRoot()]);
    }
    expect(indexes.size).toBe(3);
    // Each bundle is bound to its own artifact.
    fs.copyFileSync(path.join(dir, 'a.bin.sigstore.json'), path.join(dir, 'b.bin.sigstore.json'));
    const swapped = await fails(dir, ['verify', 'b.bin', ...byEmail(), ...trustedRoot()]);
    expect([swapped.status, swapped.code]).toEqual([1, 'E_SIGNATURE']);
  });
});

describe('signet attest --key keyless, then signet verify-attestation by identity', () => {
  it('signs a DSSE attestation logged in Rekor, and verifies its subject, predicate type and signer', async () => {
    const dir = tmp();
    const name = artifact(dir);
    writeFile(dir, 'sbom.json', JSON.stringify(CYCLONEDX));
    const attested = await ok(
      dir,
      ['attest', name, '--predicate', 'sbom.json', '--type', 'cyclonedx', '--key', 'keyless', '--signing-config', stack.signingConfigPath],
      {
        SIGSTORE_ID_TOKEN: await token(),
      },
    );
    const bundlePath = `${name}.cyclonedx.sigstore.json`;
    expect(attested.stderr).toBe(`wrote ${bundlePath}\n`);
    const bundle = bundleOf(dir, bundlePath);
    expect(bundle.dsseEnvelope).toBeDefined();
    expect(certificateOf(bundle).subjectAltName).toBe(`email:${EMAIL}`);
    expect(bundle.verificationMaterial.tlogEntries.map((e) => e.kindVersion.kind)).toEqual(['dsse']);

    const verified = await ok(dir, [
      'verify-attestation',
      name,
      '--bundle',
      bundlePath,
      '--type',
      'cyclonedx',
      ...byEmail(),
      ...trustedRoot(),
      '--json',
    ]);
    const result = parsed(verified);
    expect(result.signer).toEqual({ kind: 'certificate', subject: EMAIL, issuer: stack.oidc.url, extensions: { issuer: stack.oidc.url } });
    expect(result.statement?.predicateType).toBe('https://cyclonedx.org/bom');

    const otherType = await fails(dir, [
      'verify-attestation',
      name,
      '--bundle',
      bundlePath,
      '--type',
      'spdx',
      ...byEmail(),
      ...trustedRoot(),
    ]);
    expect([otherType.status, otherType.code]).toEqual([1, 'E_POLICY']);
    const otherSigner = await fails(dir, [
      'verify-attestation',
      name,
      '--bundle',
      bundlePath,
      '--type',
      'cyclonedx',
      ...byEmail('mallory@example.com'),
      ...trustedRoot(),
    ]);
    expect([otherSigner.status, otherSigner.code]).toEqual([1, 'E_POLICY']);
  });
});

describe('--tlog-upload: a key signature recorded in Rekor', () => {
  it('is logged, verifies with --tlog-threshold 1, and without its entry fails that threshold with E_TLOG', async () => {
    const dir = tmp();
    await ok(dir, ['key', 'generate', '--key', 'file:signing.key']);
    const name = artifact(dir);
    const rekorBefore = stack.rekor.calls('CreateEntry').length;
    await ok(dir, ['sign', name, '--key', 'file:signing.key', '--tlog-upload', '--rekor-url', stack.rekor.url]);
    expect(stack.rekor.calls('CreateEntry').length - rekorBefore).toBe(1);
    const bundle = bundleOf(dir, `${name}.sigstore.json`);
    expect(bundle.verificationMaterial.publicKey).toBeDefined();
    expect(bundle.verificationMaterial.certificate).toBeUndefined();
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);

    const verified = await ok(dir, ['verify', name, '--key', 'signing.pub', ...trustedRoot(), '--tlog-threshold', '1', '--json']);
    expect(parsed(verified).signer.kind).toBe('key');
    expect(parsed(verified).timestamps.map((t) => t.source)).toEqual(['transparency-log']);

    const stripped = tmp();
    fs.copyFileSync(path.join(dir, 'signing.pub'), path.join(stripped, 'signing.pub'));
    edited(dir, stripped, name, (b) => {
      b.verificationMaterial.tlogEntries = [];
    });
    // Without the threshold the key signature alone is enough; with it, the entry is required.
    await ok(stripped, ['verify', name, '--key', 'signing.pub', ...trustedRoot()]);
    const refused = await fails(stripped, ['verify', name, '--key', 'signing.pub', ...trustedRoot(), '--tlog-threshold', '1']);
    expect([refused.status, refused.code]).toEqual([1, 'E_TLOG']);
  });

  it('--tsa-url with a key: a timestamp and no log entry, verified with --timestamp-threshold 1', async () => {
    const dir = tmp();
    await ok(dir, ['key', 'generate', '--key', 'file:signing.key']);
    const name = artifact(dir);
    const rekorBefore = stack.rekor.requests.length;
    await ok(dir, ['sign', name, '--key', 'file:signing.key', '--tsa-url', `${stack.tsa.url}/api/v1/timestamp`]);
    expect(stack.rekor.requests.length).toBe(rekorBefore);
    const bundle = bundleOf(dir, `${name}.sigstore.json`);
    expect(bundle.verificationMaterial.tlogEntries ?? []).toEqual([]);
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    const verified = parsed(
      await ok(dir, ['verify', name, '--key', 'signing.pub', ...trustedRoot(), '--timestamp-threshold', '1', '--json']),
    );
    expect(verified.timestamps.map((t) => t.source)).toEqual(['timestamp-authority']);
    const needsLog = await fails(dir, ['verify', name, '--key', 'signing.pub', ...trustedRoot(), '--tlog-threshold', '1']);
    expect([needsLog.status, needsLog.code]).toEqual([1, 'E_TLOG']);
  });

  it('is off by default for a key: no Rekor request, no entry', async () => {
    const dir = tmp();
    await ok(dir, ['key', 'generate', '--key', 'file:signing.key']);
    const name = artifact(dir);
    const rekorBefore = stack.rekor.requests.length;
    await ok(dir, ['sign', name, '--key', 'file:signing.key', '--rekor-url', stack.rekor.url]);
    expect(stack.rekor.requests.length).toBe(rekorBefore);
    expect(bundleOf(dir, `${name}.sigstore.json`).verificationMaterial.tlogEntries ?? []).toEqual([]);
  });
});

describe('the services, from the signing config the TUF repository serves', () => {
  const tuf = () => ['--tuf-mirror', stack.tuf.url, '--tuf-root', stack.tufRootPath];

  it('keyless with no service named: signing_config.v0.2.json through TUF picks Fulcio, Rekor and the TSA', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const targets = stack.tuf.calls('Target').length;
    const rekorBefore = stack.rekor.calls('CreateEntry').length;
    await ok(dir, ['sign', name, '--key', 'keyless', ...tuf()], { SIGSTORE_ID_TOKEN: await token() });
    expect(stack.tuf.calls('Target').slice(targets).map((call) => call.path)).toContain('/targets/signing_config.v0.2.json');
    expect(stack.rekor.calls('CreateEntry').length - rekorBefore).toBe(1);
    const bundle = bundleOf(dir, `${name}.sigstore.json`);
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    await ok(dir, ['verify', name, ...byEmail(), ...tuf()]);
  });

  it('a key with --tlog-upload and no --rekor-url: the Rekor the TUF signing config selects', async () => {
    const dir = tmp();
    const name = artifact(dir);
    await ok(dir, ['key', 'generate', '--key', 'file:k.key'], { SIGNET_PASSWORD: '' });
    const rekorBefore = stack.rekor.calls('CreateEntry').length;
    await ok(dir, ['sign', name, '--key', 'file:k.key', '--tlog-upload', ...tuf()], { SIGNET_PASSWORD: '' });
    expect(stack.rekor.calls('CreateEntry').length - rekorBefore).toBe(1);
    await ok(dir, ['verify', name, '--key', 'k.pub', '--tlog-threshold', '1', ...trustedRoot()]);
  });

  it('--signing-config takes a ClientTrustConfig too', async () => {
    const dir = tmp();
    const name = artifact(dir);
    writeFile(
      dir,
      'client-trust.json',
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
        trustedRoot: stack.trustedRoot,
        signingConfig: stack.signingConfig,
      }),
    );
    await ok(dir, ['sign', name, '--key', 'keyless', '--signing-config', 'client-trust.json'], { SIGSTORE_ID_TOKEN: await token() });
    await ok(dir, ['verify', name, ...byEmail(), ...trustedRoot()]);
  });

  it('a config offering Rekor v1 and v2 (as public-good\'s signing_config_rekor_v2 does): v2, with its timestamp; --rekor-version 1 keeps v1', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const v2Before = stack.rekorV2.calls('CreateEntry').length;
    await ok(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigRekorV2Path], { SIGSTORE_ID_TOKEN: await token() });
    expect(stack.rekorV2.calls('CreateEntry').length - v2Before).toBe(1);
    const bundle = readJson(dir, `${name}.sigstore.json`) as unknown as {
      verificationMaterial: { tlogEntries: { kindVersion: { kind: string; version: string } }[]; timestampVerificationData: { rfc3161Timestamps: unknown[] } };
    };
    expect(bundle.verificationMaterial.tlogEntries.map((entry) => entry.kindVersion)).toEqual([{ kind: 'hashedrekord', version: '0.0.2' }]);
    expect(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
    const verified = parsed(await ok(dir, ['verify', name, ...byEmail(), ...trustedRoot(), '--json']));
    // A v2 entry has no log time: the timestamp is the only time.
    expect(verified.timestamps.map((t) => t.source)).toEqual(['timestamp-authority']);

    const v1 = artifact(dir, 'v1.tgz');
    await ok(dir, ['sign', v1, '--key', 'keyless', '--signing-config', stack.signingConfigRekorV2Path, '--rekor-version', '1'], { SIGSTORE_ID_TOKEN: await token() });
    expect(bundleOf(dir, `${v1}.sigstore.json`).verificationMaterial.tlogEntries[0]?.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.1' });

    writeFile(dir, 'sbom.json', JSON.stringify(CYCLONEDX));
    const attested = await ok(dir, ['attest', name, '--predicate', 'sbom.json', '--type', 'cyclonedx', '--key', 'keyless', '--signing-config', stack.signingConfigRekorV2Path], {
      SIGSTORE_ID_TOKEN: await token(),
    });
    expect(attested.status).toBe(0);
    await ok(dir, ['verify-attestation', name, '--bundle', `${name}.cyclonedx.sigstore.json`, '--type', 'cyclonedx', ...byEmail(), ...trustedRoot()]);
  });

  it('--rekor-version 2 with a config that offers only v1: exit 2, E_INPUT naming the version, nothing sent', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const fulcioBefore = stack.fulcio.calls('CreateSigningCertificate').length;
    const refused = await fails(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath, '--rekor-version', '2'], {
      SIGSTORE_ID_TOKEN: await token(),
    });
    expect(refused).toMatchObject({ status: 2, code: 'E_INPUT' });
    expect(refused.message).toContain('names no Rekor log of API v2 valid at');
    expect(stack.fulcio.calls('CreateSigningCertificate').length).toBe(fulcioBefore);
  });

  it('--rekor-version other than 1 or 2, or without a log upload: exit 2, E_USAGE', async () => {
    const dir = tmp();
    const name = artifact(dir);
    expect(await fails(dir, ['sign', name, '--key', 'keyless', '--rekor-version', '3'])).toMatchObject({ status: 2, code: 'E_USAGE' });
    await ok(dir, ['key', 'generate', '--key', 'file:k.key'], { SIGNET_PASSWORD: '' });
    const refused = await fails(dir, ['sign', name, '--key', 'file:k.key', '--rekor-version', '2'], { SIGNET_PASSWORD: '' });
    expect(refused).toMatchObject({ status: 2, code: 'E_USAGE', message: expect.stringContaining('--tlog-upload') });
  });

  it('a TUF mirror that is down: exit 3, E_PROVIDER naming signing_config.v0.2.json, nothing sent to Fulcio', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const refused = await fails(dir, ['sign', name, '--key', 'keyless', '--tuf-mirror', 'http://127.0.0.1:9', '--tuf-root', stack.tufRootPath], {
      SIGSTORE_ID_TOKEN: await token(),
    });
    expect(refused).toMatchObject({ status: 3, code: 'E_PROVIDER' });
    expect(refused.message).toContain('could not refresh signing_config.v0.2.json through TUF from http://127.0.0.1:9');
  });
});

describe('what keyless signing refuses: an exit status, one error line, nothing written', () => {
  it('no identity token anywhere: exit 2, E_INPUT naming where tokens come from, Fulcio never asked', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const fulcioBefore = stack.fulcio.requests.length;
    const refused = await fails(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath]);
    expect([refused.status, refused.code]).toEqual([2, 'E_INPUT']);
    expect(refused.message).toContain('--identity-token');
    expect(refused.message).toContain('SIGSTORE_ID_TOKEN');
    expect(refused.message).toContain('GitHub Actions');
    expect(stack.fulcio.requests.length).toBe(fulcioBefore);
  });

  it.each([
    ['an expired', { expiresIn: -60 }],
    ['a forged', { forged: true }],
  ] as const)('%s token: exit 3, E_PERMISSION, the token nowhere in the output', async (_kind, options) => {
    const dir = tmp();
    const name = artifact(dir);
    const bad = await token(options);
    for (const env of [{ SIGSTORE_ID_TOKEN: bad }, {}]) {
      const args = ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath];
      const refused = await fails(dir, 'SIGSTORE_ID_TOKEN' in env ? args : [...args, '--identity-token', bad], env);
      expect([refused.status, refused.code]).toEqual([3, 'E_PERMISSION']);
      expect(refused.message).toContain(`Fulcio (${stack.fulcio.url})`);
      expect(refused.output).not.toContain(bad);
      // Nor any of its parts: the signature segment alone would be a leak worth noticing.
      expect(refused.output).not.toContain(bad.split('.')[2]);
    }
    // --json puts the error on stdout as well: still no token.
    const json = await run(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath, '--json'], {
      SIGSTORE_ID_TOKEN: bad,
    });
    expect(json.status).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'E_PERMISSION' } });
    expect(json.stdout + json.stderr).not.toContain(bad.split('.')[2]);
    expect(fs.readdirSync(dir)).toEqual([name]);
  });

  it('a token that is not a JWT: exit 2, E_INPUT, and the text passed is not echoed', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const secret = 'glpat-this-is-a-secret-not-a-jwt';
    const refused = await fails(dir, [
      'sign',
      name,
      '--key',
      'keyless',
      '--identity-token',
      secret,
      '--signing-config',
      stack.signingConfigPath,
    ]);
    expect([refused.status, refused.code]).toEqual([2, 'E_INPUT']);
    expect(refused.output).not.toContain(secret);
  });

  it('GitHub Actions’ token endpoint refusing: exit 3, E_PERMISSION, the request token not echoed, no bundle', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const requestToken = 'gha-request-token-secret';
    stack.oidc.faults.add({ fault: { kind: 'status', status: 403, message: 'no id-token permission' }, operation: 'Token' });
    const refused = await fails(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${stack.oidc.url}/token?email=ci%40example.com`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
    });
    expect([refused.status, refused.code]).toEqual([3, 'E_PERMISSION']);
    expect(refused.message).toContain('id-token: write');
    expect(refused.output).not.toContain(requestToken);
  });

  it('Fulcio down: exit 3, E_PROVIDER naming Fulcio, no bundle', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const fulcioURL = stack.fulcio.url;
    await stack.fulcio.stop();
    try {
      const refused = await fails(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
        SIGSTORE_ID_TOKEN: await token(),
      });
      expect([refused.status, refused.code]).toEqual([3, 'E_PROVIDER']);
      expect(refused.message).toContain(`Fulcio (${fulcioURL})`);
    } finally {
      await stack.fulcio.start();
    }
    expect(fs.existsSync(path.join(dir, `${name}.sigstore.json`))).toBe(false);
  });

  it('Rekor answering 503 to everything: exit 3, E_PROVIDER naming Rekor, after a bounded number of retries, no bundle', async () => {
    const dir = tmp();
    const name = artifact(dir);
    stack.rekor.faults.add({ fault: { kind: 'status', status: 503 }, times: Number.POSITIVE_INFINITY });
    const rekorBefore = stack.rekor.requests.length;
    const refused = await fails(dir, ['sign', name, '--key', 'keyless', '--signing-config', stack.signingConfigPath], {
      SIGSTORE_ID_TOKEN: await token(),
    });
    expect([refused.status, refused.code]).toEqual([3, 'E_PROVIDER']);
    expect(refused.message).toContain(`Rekor (${stack.rekor.url})`);
    const attempts = stack.rekor.requests.slice(rekorBefore);
    expect(attempts.every((r) => r.status === 503)).toBe(true);
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts.length).toBeLessThan(10);
    expect(fs.existsSync(path.join(dir, `${name}.sigstore.json`))).toBe(false);
  });
});

describe('what identity-checked verification refuses', () => {
  /** One keyless bundle (its log entry with an audit path: the log had an entry before it). */
  let signed: string;
  const NAME = 'app.tgz';

  beforeAll(async () => {
    signed = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-keyless-signed-'));
    await signKeyless(signed, artifact(signed, 'padding.bin'));
    await signKeyless(signed, artifact(signed, NAME));
  });
  afterAll(() => fs.rmSync(signed, { recursive: true, force: true }));

  const verifyArgs = (...trust: string[]) => ['verify', NAME, ...trust, ...trustedRoot()];

  it('accepts the bundle as it was signed (so each refusal below is the edit’s doing)', async () => {
    await ok(signed, verifyArgs(...byEmail()));
    expect(bundleOf(signed, `${NAME}.sigstore.json`).verificationMaterial.tlogEntries[0]?.inclusionProof.hashes.length).toBeGreaterThan(0);
  });

  it('another identity: exit 1, E_POLICY, saying who did sign', async () => {
    const refused = await fails(signed, verifyArgs(...byEmail('mallory@example.com')));
    expect([refused.status, refused.code]).toEqual([1, 'E_POLICY']);
    expect(refused.message).toContain(`signed by ${EMAIL}`);
  });

  it('another issuer: exit 1, E_POLICY', async () => {
    const refused = await fails(
      signed,
      verifyArgs('--certificate-identity', EMAIL, '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com'),
    );
    expect([refused.status, refused.code]).toEqual([1, 'E_POLICY']);
  });

  it.each([
    ['a prefix of the identity', () => ['--certificate-identity-regexp', 'release@', '--certificate-oidc-issuer', stack.oidc.url]],
    ['a suffix of the identity', () => ['--certificate-identity-regexp', '@example\\.com', '--certificate-oidc-issuer', stack.oidc.url]],
    ['a prefix of the issuer', () => ['--certificate-identity', EMAIL, '--certificate-oidc-issuer-regexp', 'http://127']],
  ])('a pattern matching only %s: exit 1, E_POLICY', async (_what, flags) => {
    const refused = await fails(signed, verifyArgs(...flags()));
    expect([refused.status, refused.code]).toEqual([1, 'E_POLICY']);
  });

  it('no identity at all (neither --certificate-identity nor --github-repository): refused, exit 2, E_USAGE', async () => {
    const refused = await fails(signed, verifyArgs());
    expect([refused.status, refused.code]).toEqual([2, 'E_USAGE']);
    expect(refused.message).toContain('--certificate-identity');
    expect(refused.message).toContain('--github-repository');
  });

  it('only a public key to trust: a certificate bundle is refused, exit 1, E_POLICY (never "any identity")', async () => {
    const dir = tmp();
    fs.copyFileSync(path.join(signed, NAME), path.join(dir, NAME));
    fs.copyFileSync(path.join(signed, `${NAME}.sigstore.json`), path.join(dir, `${NAME}.sigstore.json`));
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFile(dir, 'other.pub', publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const refused = await fails(dir, verifyArgs('--key', 'other.pub'));
    expect([refused.status, refused.code]).toEqual([1, 'E_POLICY']);
    expect(refused.message).toContain('--certificate-identity');
  });

  it.each([
    ['--certificate-identity without an issuer', ['--certificate-identity', EMAIL]],
    ['--certificate-identity-regexp without an issuer', ['--certificate-identity-regexp', '.*']],
    ['an issuer without an identity', ['--certificate-oidc-issuer', 'http://127.0.0.1']],
    [
      'both an exact identity and a pattern',
      ['--certificate-identity', EMAIL, '--certificate-identity-regexp', '.*', '--certificate-oidc-issuer', 'x'],
    ],
    ['--github-ref without --github-repository', ['--github-ref', 'refs/heads/main']],
    ['--github-repository with --certificate-identity', ['--github-repository', 'o/r', '--certificate-identity', EMAIL]],
  ])('%s: exit 2, E_USAGE', async (_what, flags) => {
    const refused = await fails(signed, verifyArgs(...flags));
    expect([refused.status, refused.code]).toEqual([2, 'E_USAGE']);
  });

  it('a certificate that had expired when the signature was logged: exit 1, E_CERTIFICATE', async () => {
    const dir = tmp();
    const name = artifact(dir);
    const window = stack.fulcio.ca.leafWindow;
    stack.fulcio.ca.leafWindow = { startOffsetMs: -20 * 60_000, lifetimeMs: 10 * 60_000 };
    try {
      await signKeyless(dir, name);
    } finally {
      stack.fulcio.ca.leafWindow = window;
    }
    expect(Date.parse(certificateOf(bundleOf(dir, `${name}.sigstore.json`)).validTo)).toBeLessThan(Date.now());
    const refused = await fails(dir, ['verify', name, ...byEmail(), ...trustedRoot()]);
    expect([refused.status, refused.code]).toEqual([1, 'E_CERTIFICATE']);
  });

  it('a tampered inclusion proof: exit 1, E_TLOG', async () => {
    const dir = tmp();
    edited(signed, dir, NAME, (bundle) => {
      const proof = bundle.verificationMaterial.tlogEntries[0]?.inclusionProof;
      if (!proof) throw new Error('no inclusion proof');
      const hash = Buffer.from(proof.hashes[0] as string, 'base64');
      hash.writeUInt8((hash[0] ?? 0) ^ 1, 0);
      proof.hashes[0] = hash.toString('base64');
    });
    const refused = await fails(dir, ['verify', NAME, ...byEmail(), ...trustedRoot()]);
    expect([refused.status, refused.code]).toEqual([1, 'E_TLOG']);
  });

  it('the log entry removed: exit 1, E_TLOG; accepted on the timestamp alone only with --tlog-threshold 0', async () => {
    const dir = tmp();
    edited(signed, dir, NAME, (bundle) => {
      bundle.verificationMaterial.tlogEntries = [];
    });
    const refused = await fails(dir, ['verify', NAME, ...byEmail(), ...trustedRoot()]);
    expect([refused.status, refused.code]).toEqual([1, 'E_TLOG']);
    const result = parsed(await ok(dir, ['verify', NAME, ...byEmail(), ...trustedRoot(), '--tlog-threshold', '0', '--json']));
    expect(result.timestamps.map((t) => t.source)).toEqual(['timestamp-authority']);
  });

  it('thresholds above what the bundle has: --tlog-threshold 2, --timestamp-threshold 3, --ctlog-threshold 2 each refuse', async () => {
    const tlog = await fails(signed, verifyArgs(...byEmail(), '--tlog-threshold', '2'));
    expect([tlog.status, tlog.code]).toEqual([1, 'E_TLOG']);
    const timestamps = await fails(signed, verifyArgs(...byEmail(), '--timestamp-threshold', '3'));
    expect([timestamps.status, timestamps.code]).toEqual([1, 'E_TIMESTAMP']);
    const sct = await fails(signed, verifyArgs(...byEmail(), '--ctlog-threshold', '2'));
    expect([sct.status, sct.code]).toEqual([1, 'E_CERTIFICATE']);
    const notANumber = await fails(signed, verifyArgs(...byEmail(), '--tlog-threshold', 'one'));
    expect([notANumber.status, notANumber.code]).toEqual([2, 'E_USAGE']);
  });

  it('no timestamp at all (no log entry, no RFC 3161 timestamp): exit 1, one clean error line, no stack trace', async () => {
    const dir = tmp();
    edited(signed, dir, NAME, (bundle) => {
      bundle.verificationMaterial.tlogEntries = [];
      delete bundle.verificationMaterial.timestampVerificationData;
    });
    const result = await run(dir, ['verify', NAME, ...byEmail(), ...trustedRoot()]);
    expect(result.status).toBe(1);
    const { code, message } = singleErrorLine(result.stderr);
    expect(code).toBe('E_TIMESTAMP');
    expect(message).not.toMatch(/TypeError|undefined|\bat \S+:\d+/);
    // Even with every threshold lowered to zero, a certificate needs a trusted time.
    const lowered = await run(dir, ['verify', NAME, ...byEmail(), ...trustedRoot(), '--tlog-threshold', '0', '--timestamp-threshold', '0']);
    expect(lowered.status).toBe(1);
    expect(singleErrorLine(lowered.stderr).code).toBe('E_TIMESTAMP');
  });

  it('without --trusted-root: the public-good root does not know this stack, exit 1', async () => {
    const result = await run(signed, ['verify', NAME, ...byEmail()]);
    expect(result.status).toBe(1);
    const errors = errorLines(result.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toMatch(/^E_(CERTIFICATE|TLOG|TIMESTAMP)$/);
    for (const line of result.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('signet: '))) expect(line).toMatch(/^warning: /);
  });

  it('a TUF mirror that is down: exit 3 naming the mirror (a network failure), no fallback to the embedded root', async () => {
    const tufURL = stack.tuf.url;
    await stack.tuf.stop();
    try {
      const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-keyless-tuf-'));
      try {
        const refused = await fails(signed, ['verify', NAME, ...byEmail(), '--tuf-mirror', tufURL, '--tuf-root', stack.tufRootPath], {
          XDG_CACHE_HOME: cache,
        });
        expect(refused.message).toContain(tufURL);
        // The mirror is unreachable, a network failure like Fulcio or Rekor down: exit 3
        // (DESIGN.md: "3 a provider or network failed"), not 2 (bad usage or input).
        expect(refused.status).toBe(3);
      } finally {
        fs.rmSync(cache, { recursive: true, force: true });
      }
    } finally {
      await stack.tuf.start();
    }
  });
});

const vectors = vectorsDir();
if (!vectors) {
  console.warn(
    'keyless: no Sigstore vectors found (looked for SIGNET_VECTORS, ../shared/vectors, /work/shared/vectors); the GitHub workflow identity cases are skipped',
  );
}

(vectors ? describe : describe.skip)('--github-repository and --github-ref on a real GitHub Actions bundle (sigstore-conformance)', () => {
  const suite = path.join(vectors ?? '', 'sigstore-conformance-assets/bundle-verify');
  const caseDir = path.join(suite, 'happy-path-v0.3');
  const REPOSITORY = 'sigstore-conformance/extremely-dangerous-public-oidc-beacon';
  const WORKFLOW = `https://github.com/${REPOSITORY}/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main`;
  const args = (...trust: string[]) => [
    'verify',
    path.join(suite, 'a.txt'),
    '--bundle',
    path.join(caseDir, 'bundle.sigstore.json'),
    ...trust,
    '--trusted-root',
    path.join(vectors ?? '', 'public-good/trusted_root.json'),
    '--json',
  ];

  it.each([
    ['the repository', ['--github-repository', REPOSITORY]],
    ['the repository and its ref', ['--github-repository', REPOSITORY, '--github-ref', 'refs/heads/main']],
  ])('verifies with %s', async (_what, trust) => {
    const result = parsed(await ok(tmp(), args(...trust)));
    expect(result.signer).toMatchObject({
      kind: 'certificate',
      subject: WORKFLOW,
      issuer: 'https://token.actions.githubusercontent.com',
      extensions: { sourceRepository: `https://github.com/${REPOSITORY}`, sourceRepositoryRef: 'refs/heads/main' },
    });
  });

  it.each([
    ['another repository', ['--github-repository', 'sigstore-conformance/other']],
    [
      'a repository whose name is a prefix of the signer’s',
      ['--github-repository', 'sigstore-conformance/extremely-dangerous-public-oidc'],
    ],
    ['another owner', ['--github-repository', 'evil/extremely-dangerous-public-oidc-beacon']],
    ['another ref', ['--github-repository', REPOSITORY, '--github-ref', 'refs/heads/evil']],
    ['a prefix of the ref', ['--github-repository', REPOSITORY, '--github-ref', 'refs/heads/ma']],
  ])('refuses %s: exit 1, E_POLICY', async (_what, trust) => {
    const dir = tmp();
    const result = await run(dir, args(...trust));
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).code).toBe('E_POLICY');
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'E_POLICY' } });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('without --trusted-root, offline: the embedded public-good root verifies it (a staleness warning at most)', async () => {
    const dir = tmp();
    const result = await run(dir, [
      'verify',
      path.join(suite, 'a.txt'),
      '--bundle',
      path.join(caseDir, 'bundle.sigstore.json'),
      '--github-repository',
      REPOSITORY,
      '--json',
    ]);
    expect(result.status).toBe(0);
    expect(parsed(result).signer.subject).toBe(WORKFLOW);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeLessThanOrEqual(1);
    for (const line of lines) expect(line).toMatch(/^warning: .*expired/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
