// Who signed. A GitHub Actions certificate's SAN names the workflow file that ran; for a
// reusable workflow that is the called workflow, in the repository that defines it, while the
// repository that ran it (and its ref) is only in Fulcio's source-repository extensions. The
// tokens here carry GitHub Actions' issuer and claims, minted by the local stack's issuer,
// whose keys the local Fulcio trusts for that issuer.
import { SigstoreStack } from '@signet/emulators/sigstore';
import { type RunResult, signetAsync, singleErrorLine, useTempDir, writeFile } from '@signet/test-support';

const GITHUB = 'https://token.actions.githubusercontent.com';
const tmp = useTempDir();
const stack = new SigstoreStack();
beforeAll(async () => {
  await stack.start();
  stack.fulcio.trustIssuer(GITHUB, stack.oidc.jwks);
}, 60_000);
afterAll(() => stack.stop());

/** art.txt signed keylessly by a GitHub Actions run of `repository` at `ref`, of the workflow `job_workflow_ref`. */
async function signedByRun(claims: { repository: string; ref: string; job_workflow_ref: string }): Promise<string> {
  const dir = tmp();
  writeFile(dir, 'art.txt', 'a release');
  const token = await stack.mintToken({ issuer: GITHUB, subject: `repo:${claims.repository}:ref:${claims.ref}`, claims });
  const signed = await signetAsync(
    ['sign', 'art.txt', '--key', 'keyless', '--identity-token', token, '--fulcio-url', stack.fulcio.url, '--rekor-url', stack.rekor.url],
    { cwd: dir },
  );
  expect(signed.status).toBe(0);
  return dir;
}

function verify(dir: string, ...trust: string[]): Promise<RunResult> {
  return signetAsync(['verify', 'art.txt', ...trust, '--trusted-root', stack.trustedRootPath, '--json'], { cwd: dir });
}

async function refused(result: Promise<RunResult>, message?: string): Promise<void> {
  const { status, stderr } = await result;
  expect(status).toBe(1);
  const error = singleErrorLine(stderr);
  expect(error.code).toBe('E_POLICY');
  if (message) expect(error.message).toContain(message);
}

describe('--github-repository checks who ran the workflow, not only whose workflow file it is', () => {
  it('another repository running my repository’s reusable workflow is refused (it used to pass)', async () => {
    const dir = await signedByRun({
      repository: 'evil/fork',
      ref: 'refs/heads/main',
      job_workflow_ref: 'my-org/my-app/.github/workflows/release.yml@refs/heads/main',
    });
    await refused(verify(dir, '--github-repository', 'my-org/my-app'), 'run by https://github.com/evil/fork');
  });

  it('my repository’s run of its own workflow passes, and --github-ref is its source ref', async () => {
    const dir = await signedByRun({
      repository: 'my-org/my-app',
      ref: 'refs/tags/v1.2.0',
      job_workflow_ref: 'my-org/my-app/.github/workflows/release.yml@refs/tags/v1.2.0',
    });
    const ok = await verify(dir, '--github-repository', 'my-org/my-app', '--github-ref', 'refs/tags/v1.2.0');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).signer.extensions).toMatchObject({
      sourceRepository: 'https://github.com/my-org/my-app',
      sourceRepositoryRef: 'refs/tags/v1.2.0',
    });
    await refused(verify(dir, '--github-repository', 'my-org/my-app', '--github-ref', 'refs/heads/main'));
    await refused(verify(dir, '--github-repository', 'my-org/my-ap'));
    await refused(verify(dir, '--github-repository', 'my-org/my-app-evil'));
  });

  it('a reusable workflow defined elsewhere passes only when that repository is named as where it is defined', async () => {
    const dir = await signedByRun({
      repository: 'my-org/my-app',
      ref: 'refs/tags/v1.2.0',
      job_workflow_ref: 'my-org/release-workflows/.github/workflows/npm.yml@refs/heads/main',
    });
    await refused(verify(dir, '--github-repository', 'my-org/my-app'));
    const ok = await verify(dir, '--github-repository', 'my-org/my-app', '--github-workflow-repository', 'my-org/release-workflows');
    expect(ok.status).toBe(0);
    // The defining repository alone proves nothing about who ran it: it must come with the repository that ran it.
    const alone = await signetAsync(['verify', 'art.txt', '--github-workflow-repository', 'my-org/release-workflows'], { cwd: dir });
    expect(alone.status).toBe(2);
    expect(singleErrorLine(alone.stderr).code).toBe('E_USAGE');
  });

  it('a ref in the SAN is not the ref that ran: --github-ref does not match the called workflow’s ref', async () => {
    const dir = await signedByRun({
      repository: 'my-org/my-app',
      ref: 'refs/heads/feature',
      job_workflow_ref: 'my-org/my-app/.github/workflows/release.yml@refs/tags/v1.2.0',
    });
    await refused(verify(dir, '--github-repository', 'my-org/my-app', '--github-ref', 'refs/tags/v1.2.0'), 'at refs/heads/feature');
  });
});

describe('identities in a gate policy', () => {
  it('sourceRepository and sourceRepositoryRef are checked like --github-repository and --github-ref', async () => {
    const dir = await signedByRun({
      repository: 'evil/fork',
      ref: 'refs/heads/main',
      job_workflow_ref: 'my-org/my-app/.github/workflows/release.yml@refs/heads/main',
    });
    const policy = (source: string) =>
      `version: 1\nidentities:\n  ci:\n    issuer: ${GITHUB}\n    subjectRegExp: 'https://github\\.com/my-org/my-app/\\.github/workflows/.+'\n${source}rules:\n  - { kind: file, signers: [ci] }\n`;
    writeFile(dir, 'san-only.yaml', policy(''));
    writeFile(dir, 'source.yaml', policy('    sourceRepository: https://github.com/my-org/my-app\n'));
    const gate = (file: string) =>
      signetAsync(['gate', '--policy', file, 'art.txt', '--trusted-root', stack.trustedRootPath, '--json'], { cwd: dir });
    // The SAN alone is satisfied by the attacker's run; the source repository is not.
    expect((await gate('san-only.yaml')).status).toBe(0);
    const result = await gate('source.yaml');
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).verdicts[0]).toMatchObject({
      ok: false,
      code: 'E_POLICY',
      reason: expect.stringContaining('run by https://github.com/evil/fork'),
    });
  });
});
