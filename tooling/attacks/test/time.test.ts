// Which times are trusted. A log entry's integratedTime is written by whoever writes the bundle:
// only its signed entry timestamp (SET), checked with the log's key, makes it a fact; an RFC
// 3161 timestamp counts only from a TSA the trusted root names. Key windows are judged at
// trusted times only, or at now when there are none, and only trusted times are ever shown.
import fs from 'node:fs';
import path from 'node:path';
import { SigstoreStack } from '@signet/emulators/sigstore';
import { generateKey, type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();
const stack = new SigstoreStack();
beforeAll(() => stack.start(), 60_000);
afterAll(() => stack.stop());

// biome-ignore lint/suspicious/noExplicitAny: the attacks edit the bundle JSON at any depth
type BundleJson = Record<string, any>;

/** A key signature of art.txt recorded in the stack's Rekor (with a SET), its key and folder. */
async function loggedSignature(): Promise<{ dir: string; pub: string; bundle: BundleJson }> {
  const dir = tmp();
  const { key, pub } = generateKey(dir, 'release');
  writeFile(dir, 'art.txt', 'a release');
  const signed = await signetAsync(['sign', 'art.txt', '--key', key, '--tlog-upload', '--rekor-url', stack.rekor.url], { cwd: dir });
  expect(signed.status).toBe(0);
  const bundle = JSON.parse(fs.readFileSync(path.join(dir, 'art.txt.sigstore.json'), 'utf8')) as BundleJson;
  expect(bundle.verificationMaterial.tlogEntries[0].inclusionPromise).toBeDefined();
  return { dir, pub, bundle };
}

function rewrite(dir: string, bundle: BundleJson, edit: (entry: BundleJson) => void): void {
  const copy = structuredClone(bundle);
  edit(copy.verificationMaterial.tlogEntries[0]);
  fs.writeFileSync(path.join(dir, 'art.txt.sigstore.json'), JSON.stringify(copy));
}

/** `signet gate` of art.txt with the key trusted only from `validFrom` to `validUntil`. */
function gate(dir: string, pub: string, validFrom: string, validUntil: string): Promise<RunResult> {
  writeFile(
    dir,
    'policy.yaml',
    `version: 1\nkeys:\n  release: { publicKey: ${pub}, validFrom: '${validFrom}', validUntil: '${validUntil}' }\nrules:\n  - { kind: file, signers: [release] }\n`,
  );
  return signetAsync(['gate', '--policy', 'policy.yaml', 'art.txt', '--trusted-root', stack.trustedRootPath, '--json'], { cwd: dir });
}

const day = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('key windows', () => {
  it('a genuine logged signature passes inside the window, and fails once it lies outside', async () => {
    const { dir, pub } = await loggedSignature();
    expect((await gate(dir, pub, iso(Date.now() - day), iso(Date.now() + day))).status).toBe(0);
    const expired = await gate(dir, pub, '2023-01-01', '2025-06-01');
    expect(expired.status).toBe(1);
    expect(JSON.parse(expired.stdout).verdicts[0]).toMatchObject({ ok: false, code: 'E_POLICY' });
  });

  it('the SET stripped and integratedTime back-dated into an expired key’s window: refused (it used to pass)', async () => {
    const { dir, pub, bundle } = await loggedSignature();
    rewrite(dir, bundle, (entry) => {
      delete entry.inclusionPromise;
      entry.integratedTime = String(Date.parse('2024-01-01T00:00:00Z') / 1000);
    });
    const result = await gate(dir, pub, '2023-01-01', '2025-06-01');
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).verdicts[0]).toMatchObject({
      ok: false,
      code: 'E_POLICY',
      reason: expect.stringContaining('no trusted timestamp inside that window'),
    });
  });

  it('integratedTime back-dated with the SET kept: the SET no longer verifies', async () => {
    const { dir, pub, bundle } = await loggedSignature();
    rewrite(dir, bundle, (entry) => {
      entry.integratedTime = String(Date.parse('2024-01-01T00:00:00Z') / 1000);
    });
    const result = await gate(dir, pub, '2023-01-01', '2025-06-01');
    expect(JSON.parse(result.stdout).verdicts[0]).toMatchObject({ ok: false, code: 'E_TLOG' });
  });

  it('a Rekor v2-style entry (integratedTime 0, no SET) gives no time: the key must be valid now', async () => {
    const { dir, pub, bundle } = await loggedSignature();
    rewrite(dir, bundle, (entry) => {
      delete entry.inclusionPromise;
      entry.integratedTime = '0';
    });
    expect((await gate(dir, pub, '1970-01-01', '2025-06-01')).status).toBe(1);
    expect((await gate(dir, pub, iso(Date.now() - day), iso(Date.now() + day))).status).toBe(0);
  });
});

describe('what is shown as a time', () => {
  it('never prints an unverified integratedTime as "seen at", in text or JSON', async () => {
    const { dir, pub, bundle } = await loggedSignature();
    const verifyArgs = ['verify', 'art.txt', '--key', pub, '--trusted-root', stack.trustedRootPath];
    const genuine = await signetAsync(verifyArgs, { cwd: dir });
    expect(genuine.stderr).toMatch(/seen at \S+ \(transparency-log\)/);
    rewrite(dir, bundle, (entry) => {
      delete entry.inclusionPromise;
      entry.integratedTime = String(Date.parse('2024-01-01T00:00:00Z') / 1000);
    });
    const text = await signetAsync(verifyArgs, { cwd: dir });
    expect(text.status).toBe(0);
    expect(text.stderr).not.toContain('seen at');
    expect(text.stderr).not.toContain('2024-01-01');
    const json = await signetAsync([...verifyArgs, '--json'], { cwd: dir });
    expect(JSON.parse(json.stdout).timestamps).toEqual([]);
  });
});

describe('timestamps and keyless certificates', () => {
  it('a timestamp from a TSA the trusted root does not name: refused, E_TIMESTAMP', async () => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'release');
    writeFile(dir, 'art.txt', 'a release');
    const signed = await signetAsync(['sign', 'art.txt', '--key', key, '--tsa-url', `${stack.tsa.url}/api/v1/timestamp`], { cwd: dir });
    expect(signed.status).toBe(0);
    const root = JSON.parse(fs.readFileSync(stack.trustedRootPath, 'utf8'));
    writeFile(dir, 'no-tsa.json', JSON.stringify({ ...root, timestampAuthorities: [] }));
    const ok = await signetAsync(['verify', 'art.txt', '--key', pub, '--trusted-root', stack.trustedRootPath], { cwd: dir });
    expect(ok.status).toBe(0);
    const result = await signetAsync(['verify', 'art.txt', '--key', pub, '--trusted-root', 'no-tsa.json'], { cwd: dir });
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).code).toBe('E_TIMESTAMP');
  });

  it('a keyless signature whose SET is stripped and that has no timestamp: refused, E_TIMESTAMP', async () => {
    const dir = tmp();
    writeFile(dir, 'art.txt', 'a release');
    const token = await stack.mintToken({ email: 'release@example.com' });
    const signed = await signetAsync(
      ['sign', 'art.txt', '--key', 'keyless', '--identity-token', token, '--fulcio-url', stack.fulcio.url, '--rekor-url', stack.rekor.url],
      { cwd: dir },
    );
    expect(signed.status).toBe(0);
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, 'art.txt.sigstore.json'), 'utf8')) as BundleJson;
    delete bundle.verificationMaterial.tlogEntries[0].inclusionPromise;
    delete bundle.verificationMaterial.timestampVerificationData;
    fs.writeFileSync(path.join(dir, 'art.txt.sigstore.json'), JSON.stringify(bundle));
    const identity = ['--certificate-identity', 'release@example.com', '--certificate-oidc-issuer', stack.oidc.url];
    const result = await signetAsync(['verify', 'art.txt', ...identity, '--trusted-root', stack.trustedRootPath], { cwd: dir });
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr)).toEqual({ code: 'E_TIMESTAMP', message: expect.stringContaining('no trusted time') });
  });
});
