// `signet gate`: a deploy step's verdict on a set of artifacts, as a table or JSON, and its exit status.
import fs from 'node:fs';
import path from 'node:path';
import { generateKey, signet, signetAsync, signetOk, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();

const POLICY = `version: 1
keys:
  release: { publicKey: keys/release.pub }
rules:
  - kind: web
    signers: [release]
  - kind: lambda-zip
    match: 'functions/*.zip'
    signers: [release]
    attestations:
      - predicateType: cyclonedx
  - kind: attestation
    signers: [release]
    predicateTypes: [cyclonedx]
  - match: 'bin/*'
    signers: [release]
`;

/** A release folder: a web build, a Lambda zip with its SBOM, a tool, all signed with one key. */
function release(): string {
  const dir = tmp();
  const { key } = generateKey(dir, 'release');
  fs.mkdirSync(path.join(dir, 'keys'));
  fs.renameSync(path.join(dir, 'release.pub'), path.join(dir, 'keys/release.pub'));
  writeFile(dir, 'deploy-policy.yaml', POLICY);
  writeFile(dir, 'dist/index.html', '<script src="app.js"></script>');
  writeFile(dir, 'dist/app.js', 'console.log("app")');
  signetOk(['sign-dir', 'dist', '--key', key], { cwd: dir });
  writeFile(dir, 'functions/checkout.zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(2 * 1024 * 1024, 7)]));
  writeFile(dir, 'sbom.json', JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [] }));
  writeFile(dir, 'bin/tool', 'a tool');
  signetOk(['sign', 'functions/checkout.zip', 'bin/tool', '--key', key], { cwd: dir });
  signetOk(['attest', 'functions/checkout.zip', '--predicate', 'sbom.json', '--type', 'cyclonedx', '--key', key], { cwd: dir });
  return dir;
}

const ARTIFACTS = ['dist', 'functions/checkout.zip', 'functions/checkout.zip.cyclonedx.sigstore.json', 'bin/tool'];

describe('signet gate', () => {
  it('prints a table of verdicts and exits 0 when every artifact passes', async () => {
    const dir = release();
    const result = await signetAsync(['gate', '--policy', 'deploy-policy.yaml', ...ARTIFACTS], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'ARTIFACT                                        VERDICT  SIGNER       REASON',
      'dist                                            PASS     key release  2 files match the signed manifest',
      'functions/checkout.zip                          PASS     key release  signature verified (sha256); cyclonedx by key release',
      'functions/checkout.zip.cyclonedx.sigstore.json  PASS     key release  cyclonedx about functions/checkout.zip',
      'bin/tool                                        PASS     key release  signature verified (sha256)',
      '4 of 4 artifacts passed (policy deploy-policy.yaml)',
      '',
    ]);
  });

  it('fails the whole gate (exit 1) on a tampered, an unsigned or an uncovered artifact, naming each', async () => {
    const dir = release();
    fs.appendFileSync(path.join(dir, 'dist/app.js'), 'steal()');
    fs.rmSync(path.join(dir, 'functions/checkout.zip.cyclonedx.sigstore.json'));
    writeFile(dir, 'bin/unsigned', 'x');
    writeFile(dir, 'README.md', 'x');
    const result = await signetAsync(
      ['gate', '--policy', 'deploy-policy.yaml', ...ARTIFACTS.filter((a) => !a.includes('cyclonedx')), 'bin/unsigned', 'README.md'],
      {
        cwd: dir,
      },
    );
    expect(result.status).toBe(1);
    const rows = result.stdout.trim().split('\n');
    expect(rows.map((row) => row.split(/ {2,}/).slice(0, 3))).toEqual([
      ['ARTIFACT', 'VERDICT', 'SIGNER'],
      ['dist', 'FAIL', 'key release'],
      ['functions/checkout.zip', 'FAIL', 'key release'],
      ['bin/tool', 'PASS', 'key release'],
      ['bin/unsigned', 'FAIL', '-'],
      ['README.md', 'FAIL', '-'],
      ['1 of 5 artifacts passed, 4 failed (policy deploy-policy.yaml)'],
    ]);
    expect(rows[1]).toMatch(/E_SIGNATURE: dist does not match its signed manifest: modified app\.js$/);
    expect(rows[2]).toMatch(/E_POLICY: no cyclonedx attestation beside it \(checkout\.zip\.\*\.sigstore\.json\)$/);
    expect(rows[4]).toMatch(/E_SIGNATURE: not signed: bin\/unsigned\.sigstore\.json does not exist$/);
    expect(rows[5]).toMatch(/E_POLICY: no rule covers it$/);
  });

  it('prints the verdicts as JSON with --json, the summary on stderr', async () => {
    const dir = release();
    const other = generateKey(dir, 'other');
    fs.rmSync(path.join(dir, 'bin/tool.sigstore.json'));
    signetOk(['sign', 'bin/tool', '--key', other.key], { cwd: dir });
    const result = await signetAsync(['gate', '--policy', 'deploy-policy.yaml', '--json', 'functions/checkout.zip', 'bin/tool'], {
      cwd: dir,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('1 of 2 artifacts passed, 1 failed (policy deploy-policy.yaml)\n');
    const report = JSON.parse(result.stdout);
    expect(report).toEqual({
      ok: false,
      policy: 'deploy-policy.yaml',
      passed: 1,
      failed: 1,
      verdicts: [
        {
          artifact: 'functions/checkout.zip',
          kind: 'lambda-zip',
          rule: 1,
          ok: true,
          signer: 'key release',
          reason: 'signature verified (sha256); cyclonedx by key release',
          attestations: [
            { predicateType: 'https://cyclonedx.org/bom', bundle: 'functions/checkout.zip.cyclonedx.sigstore.json', signer: 'key release' },
          ],
        },
        {
          artifact: 'bin/tool',
          kind: 'file',
          rule: 3,
          ok: false,
          reason: expect.stringMatching(
            /^bin\/tool\.sigstore\.json: the signature does not verify: .*; the bundle names another key \(sha256:[0-9a-f]{64}\), not release$/,
          ),
          code: 'E_SIGNATURE',
        },
      ],
    });
  });

  it('refuses a bad policy with exit 2 and one line naming the file, line, path and problem', () => {
    const dir = release();
    fs.writeFileSync(path.join(dir, 'deploy-policy.yaml'), POLICY.replace("match: 'bin/*'", "match: 'bin/*'\n    tlog: maybe"));
    const result = signet(['gate', '--policy', 'deploy-policy.yaml', 'bin/tool'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(singleErrorLine(result.stderr)).toEqual({
      code: 'E_INPUT',
      message: 'deploy-policy.yaml:16:11: rules[3].tlog: must be true or false, not "maybe"',
    });
  });

  it('refuses bad usage with exit 2: no artifacts, no policy, a missing policy file', () => {
    const dir = release();
    for (const args of [['--policy', 'deploy-policy.yaml'], ['bin/tool'], ['--policy', 'nope.yaml', 'bin/tool']]) {
      const result = signet(['gate', ...args], { cwd: dir });
      expect(result.status).toBe(2);
      expect(singleErrorLine(result.stderr).code).toMatch(/^E_(USAGE|INPUT)$/);
    }
  });

  it('explains itself with --help', () => {
    const result = signet(['gate', '--help'], { cwd: tmp() });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: signet gate <artifact...> [options]');
    expect(result.stdout).toMatch(/^\s+\$ signet gate --policy /m);
  });
});
