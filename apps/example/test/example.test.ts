// `npm run example` is the project's main job: it must run on a fresh clone and end with the
// gate passing the signed release and refusing each tampered artifact, with the reason.
import { execFile } from 'node:child_process';
import path from 'node:path';

function runExample(): Promise<{ status: number; output: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|SIGNET_)/i.test(name)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(__dirname, '..', 'run.mjs')],
      { env: { ...env, NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

let result: { status: number; output: string };
beforeAll(async () => {
  result = await runExample();
}, 240_000);

test('runs to the end and exits 0', () => {
  expect(result.output).toContain(
    'Done. The signed release passed the gate; every tampered artifact was refused (exit status 1), with the reason.',
  );
  expect(result.status).toBe(0);
});

test('every artifact is signed, verified and deployed on the way', () => {
  expect(result.output).toContain('created awskms:///alias/acme-release');
  expect(result.output).toMatch(
    /signed and published @acme\/greet@1\.0\.0: .*acme-greet-1\.0\.0\.tgz, signature .*acme-greet-1\.0\.0\.tgz\.sigstore\.json/,
  );
  expect(result.output).toMatch(/Verified OK: web \(\d+ files\)/);
  expect(result.output).toContain('wrote web.cyclonedx.sigstore.json');
  expect(result.output).toContain('verified checkout.zip (signed by key acme-release.pub) and deployed it to checkout');
});

test('the gate passes the release: each artifact by its signer, the SBOM by the CI identity', () => {
  expect(result.output).toMatch(
    /web +PASS +key acme-release +\d+ files match the signed manifest; cyclonedx by identity acme-ci \(release-bot@acme\.example\)/,
  );
  expect(result.output).toMatch(/checkout\.zip +PASS +key acme-release/);
  expect(result.output).toMatch(/library\/acme-greet-1\.0\.0\.tgz +PASS +key acme-release +pkg:npm\/@acme\/greet@1\.0\.0/);
  expect(result.output).toContain('3 of 3 artifacts passed');
});

test('the gate refuses each tampered artifact and the unsigned script, saying why', () => {
  expect(result.output).toMatch(
    /web +FAIL +key acme-release +E_SIGNATURE: web does not match its signed manifest: modified assets\/.*\.js/,
  );
  expect(result.output).toMatch(/checkout\.zip +FAIL .*E_SIGNATURE: checkout\.zip\.sigstore\.json: the artifact does not match the bundle/);
  expect(result.output).toMatch(/acme-greet-1\.0\.0\.tgz +FAIL .*E_SIGNATURE/);
  expect(result.output).toMatch(/migrate\.sh +FAIL .*E_POLICY: no rule covers it/);
  expect(result.output).toContain('0 of 4 artifacts passed, 4 failed');
});
