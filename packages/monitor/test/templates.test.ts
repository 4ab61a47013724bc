// The scheduled CI templates (templates/monitor.github.yml, templates/monitor.gitlab-ci.yml), run
// as their runners would run them, against the local Sigstore stack: a baseline run, a signature
// the ledger does not hold, then runs that must open one issue per alert (in a local stand-in for
// the GitHub or GitLab issues API) and never the same one twice, the state carried between runs
// by the runner's cache. `npm install -g` installs this checkout's signet (a shim on PATH).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AwsKmsEmulator, envFor } from '@signet/emulators/aws-kms';
import { RekorEmulator, SigstoreStack } from '@signet/emulators/sigstore';
import { childEnv, generateKey, SIGNET, useTempDir } from '@signet/test-support';
import YAML from 'yaml';
import { ProvenanceRegistry } from './npm-registry';
import { artifact, fingerprintOf, githubToken, logIndexesOf, ok, trustedRootWith } from './support';

const TEMPLATES = path.resolve(__dirname, '../../../templates');
const stack = new SigstoreStack();
const kms = new AwsKmsEmulator();
const npm = new ProvenanceRegistry(stack);
const tmp = useTempDir();
let api: http.Server;
let apiUrl: string;
/** Issues opened through the stand-in API: title and body. */
let issues: { title: string; body: string; labels: unknown }[] = [];

beforeAll(async () => {
  await Promise.all([stack.start(), kms.start()]);
  await npm.start();
  // GitHub's `GET/POST /repos/OWNER/REPO/issues` and GitLab's `GET/POST /projects/ID/issues`, as far as the templates use them.
  api = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://api');
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const github = url.pathname === '/repos/acme/shop/issues';
      const gitlab = url.pathname === '/api/v4/projects/42/issues';
      const authorized = github ? request.headers.authorization === 'Bearer gh-token' : request.headers['private-token'] === 'gl-token';
      if (!(github || gitlab) || !authorized) return response.writeHead(github || gitlab ? 401 : 404).end('{}');
      if (request.method === 'POST') {
        const issue = JSON.parse(body);
        issues.push({ title: issue.title, body: issue.body ?? issue.description, labels: issue.labels });
        return response.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      }
      const search = url.searchParams.get('search');
      const found = issues.filter((issue) => (search ? issue.title.includes(search) : true));
      return response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(found.map((issue) => ({ title: issue.title }))));
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => api.close(resolve));
  await npm.stop();
  await Promise.all([stack.stop(), kms.stop()]);
});

beforeEach(() => {
  issues = [];
});

/** A repository as the templates expect it: monitor.yaml and the ledger; and PATH shims for npm and signet. */
function repository(): { workspace: string; bin: string } {
  const workspace = tmp();
  fs.writeFileSync(
    path.join(workspace, 'monitor.yaml'),
    YAML.stringify({
      logs: [
        { url: stack.rekor.url, version: 1 },
        { url: stack.rekorV2.url, version: 2 },
      ],
      trustedRoot: stack.trustedRootPath,
      ledger: 'signet-ledger.jsonl',
      monitoredValues: { certIdentities: [{ certSubject: 'https://github\\.com/acme/shop/\\.github/workflows/release\\.yml@.*' }] },
    }),
  );
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-monitor-bin-'));
  fs.writeFileSync(path.join(bin, 'signet'), `#!/bin/sh\nexec "${process.execPath}" "${SIGNET}" "$@"\n`, { mode: 0o755 });
  // `npm install -g @signet/cli@V @signet/monitor@V`: this checkout is what gets "installed".
  fs.writeFileSync(
    path.join(bin, 'npm'),
    '#!/bin/sh\n[ "$1 $2" = "install -g" ] || { echo "npm shim: only install -g" >&2; exit 1; }\nshift 2\nfor p in "$@"; do case "$p" in @signet/cli@0.*|@signet/monitor@0.*) ;; *) echo "npm shim: unexpected $p" >&2; exit 1;; esac; done\n',
    { mode: 0o755 },
  );
  return { workspace, bin };
}

/** Signs a release keyless as acme/shop's release workflow; into the ledger or not. */
async function sign(workspace: string, ledger: boolean): Promise<void> {
  const file = artifact(workspace, `release-${Date.now()}.tgz`);
  const token = await githubToken(stack, 'acme/shop', 'acme/shop/.github/workflows/release.yml@refs/tags/v1.0.0');
  await ok(
    workspace,
    ['sign', file, '--key', 'keyless', '--signing-config', stack.signingConfigPath, ...(ledger ? ['--ledger', 'signet-ledger.jsonl'] : [])],
    {
      SIGSTORE_ID_TOKEN: token,
    },
  );
}

interface WorkflowStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}

/**
 * A shell step, run asynchronously: the emulators and the stand-in issues API answer from this
 * process, so a blocking spawnSync would leave `signet monitor` waiting on them for ever.
 */
function bash(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/**
 * One run of the workflow's job as GitHub's runner runs it: `uses:` steps are checkout and
 * setup-node (the workspace is ready) and the cache (a folder kept between runs); `run:` steps
 * in `bash --noprofile --norc -eo pipefail`; `${{ … }}` from github, steps and env; `if:` with
 * always(), == and != on step outputs; later steps skipped after a failure unless always().
 */
async function runGitHubWorkflow(
  workflow: { env?: Record<string, string>; jobs: { monitor: { steps: WorkflowStep[] } } },
  workspace: string,
  bin: string,
  cache: string,
  runId: number,
) {
  const outputs: Record<string, Record<string, string>> = {};
  const context = (expression: string): string => {
    if (expression === 'github.run_id') return String(runId);
    if (expression === 'github.token') return 'gh-token';
    const step = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expression);
    if (step) return outputs[step[1] as string]?.[step[2] as string] ?? '';
    throw new Error(`\${{ ${expression} }} is not something this runner knows`);
  };
  const evaluate = (text: string) => text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => context(expression));
  const condition = (text: string | undefined, failed: boolean): boolean => {
    if (text === undefined) return !failed;
    if (text === 'always()') return true;
    const match = /^([\w.-]+) (==|!=) '([^']*)'$/.exec(text);
    if (!match) throw new Error(`if: ${text} is beyond this runner`);
    const equal = context(match[1] as string) === match[3];
    return !failed && (match[2] === '==' ? equal : !equal);
  };
  let failed = false;
  let exitCode = 0;
  for (const step of workflow.jobs.monitor.steps) {
    if (!condition(step.if, failed)) continue;
    if (step.uses) {
      const action = step.uses.split('@')[0];
      const target = path.join(workspace, step.with?.path ?? '');
      if (action === 'actions/cache/restore') {
        expect(step.with?.['restore-keys']).toBe('signet-monitor-');
        if (fs.existsSync(cache)) fs.cpSync(cache, target, { recursive: true });
      } else if (action === 'actions/cache/save') {
        expect(evaluate(step.with?.key ?? '')).toBe(`signet-monitor-${runId}`);
        fs.rmSync(cache, { recursive: true, force: true });
        if (fs.existsSync(target)) fs.cpSync(target, cache, { recursive: true });
      } else if (action !== 'actions/checkout' && action !== 'actions/setup-node') {
        throw new Error(`${step.uses} is beyond this runner`);
      }
      continue;
    }
    const outputFile = path.join(workspace, `.github-output-${runId}`);
    fs.writeFileSync(outputFile, '');
    const env = Object.fromEntries(
      Object.entries({ ...workflow.env, ...step.env }).map(([name, value]) => [name, evaluate(String(value))]),
    );
    const result = await bash(['--noprofile', '--norc', '-eo', 'pipefail', '-c', evaluate(step.run ?? '')], {
      cwd: workspace,
      env: childEnv({
        ...env,
        PATH: `${bin}:${process.env.PATH}`,
        GITHUB_OUTPUT: outputFile,
        GITHUB_API_URL: apiUrl,
        GITHUB_REPOSITORY: 'acme/shop',
      }),
    });
    if (step.id) {
      outputs[step.id] = Object.fromEntries(
        fs
          .readFileSync(outputFile, 'utf8')
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
    }
    if (result.status !== 0) {
      failed = true;
      exitCode = result.status ?? -1;
      if (result.stderr && result.status !== 1 && result.status !== 3) throw new Error(`step ${step.name} failed: ${result.stderr}`);
    }
  }
  return { ok: !failed, exitCode, outputs };
}

test('GitHub Actions: scheduled, one run at a time, state kept between runs, one issue per new alert, never twice', async () => {
  const workflow = YAML.parse(fs.readFileSync(path.join(TEMPLATES, 'monitor.github.yml'), 'utf8'));
  expect(workflow.on.schedule[0].cron).toMatch(/^\d+ \* \* \* \*$/);
  expect(workflow.concurrency).toEqual({ group: 'signet-monitor', 'cancel-in-progress': false });
  expect(workflow.permissions).toEqual({ contents: 'read', issues: 'write' });

  const { workspace, bin } = repository();
  const cache = path.join(tmp(), 'actions-cache');
  expect(await runGitHubWorkflow(workflow, workspace, bin, cache, 1)).toMatchObject({ ok: true, outputs: { monitor: { status: '0' } } });
  await sign(workspace, true);
  expect(await runGitHubWorkflow(workflow, workspace, bin, cache, 2)).toMatchObject({ ok: true });
  expect(issues).toEqual([]);

  await sign(workspace, false);
  await sign(workspace, false);
  // A fresh checkout each run: only the cache carries the state.
  fs.rmSync(path.join(workspace, '.signet-monitor'), { recursive: true });
  const alerted = await runGitHubWorkflow(workflow, workspace, bin, cache, 3);
  expect(alerted).toMatchObject({ ok: false, exitCode: 1, outputs: { monitor: { status: '1' } } });
  expect(issues).toHaveLength(2);
  expect(issues[0]?.title).toMatch(
    new RegExp(`^signet monitor: unexpected-entry at ${stack.rekor.url.replace(/\./g, '\\.')} entry \\d+ \\[[0-9a-f]{32}\\]$`),
  );
  expect(issues[0]?.body).toContain('not in the ledger');
  expect(issues[0]?.labels).toEqual(['signet-monitor']);

  fs.rmSync(path.join(workspace, '.signet-monitor'), { recursive: true });
  expect(await runGitHubWorkflow(workflow, workspace, bin, cache, 4)).toMatchObject({ ok: true });
  expect(issues).toHaveLength(2);
}, 180_000);

/** One scheduled pipeline of the GitLab job: its cache restored and saved (when: always), its script in one bash with set -eo pipefail. */
async function runGitLabJob(
  job: { variables: Record<string, string>; cache: { paths: string[] }; script: string[] },
  workspace: string,
  bin: string,
  cache: string,
) {
  const target = path.join(workspace, job.cache.paths[0] as string);
  if (fs.existsSync(cache)) fs.cpSync(cache, target, { recursive: true });
  const result = await bash(['--noprofile', '--norc', '-c', `set -eo pipefail\n${job.script.join('\n')}`], {
    cwd: workspace,
    env: childEnv({
      ...job.variables,
      PATH: `${bin}:${process.env.PATH}`,
      CI_PIPELINE_SOURCE: 'schedule',
      CI_API_V4_URL: `${apiUrl}/api/v4`,
      CI_PROJECT_ID: '42',
      SIGNET_MONITOR_TOKEN: 'gl-token',
    }),
  });
  fs.rmSync(cache, { recursive: true, force: true });
  if (fs.existsSync(target)) fs.cpSync(target, cache, { recursive: true });
  return result;
}

test('GitLab CI/CD: a scheduled job, one at a time (resource_group), cached state, one issue per new alert, never twice', async () => {
  const pipeline = YAML.parse(fs.readFileSync(path.join(TEMPLATES, 'monitor.gitlab-ci.yml'), 'utf8'));
  const job = pipeline['signet-monitor'];
  expect(job.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
  expect(job.resource_group).toBe('signet-monitor');
  expect(job.cache).toMatchObject({ key: 'signet-monitor', when: 'always' });

  const { workspace, bin } = repository();
  const cache = path.join(tmp(), 'gitlab-cache');
  expect((await runGitLabJob(job, workspace, bin, cache)).status).toBe(0);
  await sign(workspace, false);
  fs.rmSync(path.join(workspace, '.signet-monitor'), { recursive: true });
  const alerted = await runGitLabJob(job, workspace, bin, cache);
  expect(alerted.status).toBe(1);
  expect(issues).toHaveLength(1);
  expect(issues[0]?.labels).toBe('signet-monitor');
  fs.rmSync(path.join(workspace, '.signet-monitor'), { recursive: true });
  expect((await runGitLabJob(job, workspace, bin, cache)).status).toBe(0);
  expect(issues).toHaveLength(1);
}, 180_000);

describe('every scenario of issue 16, caught by the scheduled GitHub workflow', () => {
  const PACKAGE = '@acme/shop';
  const RELEASE = 'acme/shop/.github/workflows/release.yml@refs/tags/v1.0.0';

  /** Signs a new file keyless as acme/shop running `workflow`, in Rekor v1 or v2; returns its log index. */
  async function signKeyless(workspace: string, rekor: 1 | 2, ledger: boolean, workflow = RELEASE): Promise<number> {
    const file = artifact(workspace, `keyless-${rekor}-${Date.now()}-${Math.random()}.tgz`);
    const token = await githubToken(stack, 'acme/shop', workflow);
    const signingConfig = rekor === 1 ? stack.signingConfigPath : stack.signingConfigRekorV2Path;
    await ok(
      workspace,
      ['sign', file, '--key', 'keyless', '--signing-config', signingConfig, ...(ledger ? ['--ledger', 'signet-ledger.jsonl'] : [])],
      {
        SIGSTORE_ID_TOKEN: token,
      },
    );
    return logIndexesOf(workspace, `${file}.sigstore.json`)[0] as number;
  }

  /** Signs a new file with the KMS key, logged in the Rekor v1 at `url`; returns its log index. */
  async function signKms(workspace: string, url: string, ledger: boolean): Promise<number> {
    const file = artifact(workspace, `kms-${Date.now()}-${Math.random()}.zip`);
    await ok(
      workspace,
      [
        'sign',
        file,
        '--key',
        'awskms:///alias/release',
        '--tlog-upload',
        '--rekor-url',
        url,
        ...(ledger ? ['--ledger', 'signet-ledger.jsonl'] : []),
      ],
      envFor(kms),
    );
    return logIndexesOf(workspace, `${file}.sigstore.json`)[0] as number;
  }

  test('your own releases stay silent; a signature by your identity, your KMS key, your repository running another workflow, a forked log, a token publish and a provenance identity change each open one issue', async () => {
    const { workspace, bin } = repository();
    const workflow = YAML.parse(fs.readFileSync(path.join(TEMPLATES, 'monitor.github.yml'), 'utf8'));
    const cache = path.join(tmp(), 'actions-cache');
    // A Rekor v1 log of its own, to fork; the trusted root lists it beside the stack's logs.
    const forkable = new RekorEmulator();
    await forkable.start();
    try {
      await kms.createKey({ alias: 'alias/release' });
      const pem = (await ok(workspace, ['key', 'public', '--key', 'awskms:///alias/release'], envFor(kms))).stdout;
      const npmKey = `file:${path.join(workspace, generateKey(workspace, 'maintainer').key.slice('file:'.length))}`;
      fs.writeFileSync(
        path.join(workspace, 'trusted_root.json'),
        JSON.stringify(
          trustedRootWith(stack.trustedRoot, [
            { baseUrl: forkable.url, publicKey: forkable.log.publicKey, logId: forkable.log.logId, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
          ]),
        ),
      );
      fs.writeFileSync(
        path.join(workspace, 'monitor.yaml'),
        YAML.stringify({
          logs: [
            { url: stack.rekor.url, version: 1 },
            { url: stack.rekorV2.url, version: 2 },
            { url: forkable.url, version: 1 },
          ],
          trustedRoot: 'trusted_root.json',
          ledger: 'signet-ledger.jsonl',
          monitoredValues: {
            certIdentities: [{ certSubject: 'https://github\\.com/acme/shop/\\.github/workflows/release\\.yml@.*' }],
            fingerprints: [fingerprintOf(pem)],
            oidMatchers: { fulcioExtensions: { 'source-repository-uri': ['https://github.com/acme/shop'] } },
          },
          npm: {
            registry: npm.url,
            packages: [
              {
                name: PACKAGE,
                identities: [
                  { issuer: stack.oidc.url, subjectRegExp: 'https://github\\.com/acme/shop/\\.github/workflows/release\\.yml@.*' },
                ],
              },
            ],
          },
        }),
      );
      // Before the first run: a release with provenance, and the forkable log's first entries.
      await npm.release(workspace, PACKAGE, '1.0.0', npmKey, 'signet-ledger.jsonl');
      await npm.attachProvenance(PACKAGE, '1.0.0', 'acme/shop', RELEASE);
      await signKms(workspace, forkable.url, true);
      await signKms(workspace, forkable.url, true);
      expect(await runGitHubWorkflow(workflow, workspace, bin, cache, 1)).toMatchObject({
        ok: true,
        outputs: { monitor: { status: '0' } },
      });

      // Your own releases, each in the ledger: silent.
      await signKeyless(workspace, 1, true);
      await signKeyless(workspace, 2, true);
      await signKms(workspace, stack.rekor.url, true);
      await signKms(workspace, forkable.url, true);
      await npm.release(workspace, PACKAGE, '1.1.0', npmKey, 'signet-ledger.jsonl');
      await npm.attachProvenance(PACKAGE, '1.1.0', 'acme/shop', RELEASE);
      fs.rmSync(path.join(workspace, '.signet-monitor'), { recursive: true });
      const own = await runGitHubWorkflow(workflow, workspace, bin, cache, 2);
      expect(issues).toEqual([]);
      expect(own).toMatchObject({ ok: true, outputs: { monitor: { status: '0' } } });

      // What you did not do.
      const asYou = await signKeyless(workspace, 1, false);
      const withYourKey = await signKms(workspace, stack.rekor.url, false);
      const otherWorkflow = await signKeyless(workspace, 2, false, 'evil/workflows/.github/workflows/steal.yml@refs/heads/main');
      forkable.log.rewrite(1, Buffer.from('{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"forged":true}}'));
      await signKms(workspace, forkable.url, true);
      await npm.tokenPublish(workspace, PACKAGE, '1.1.1');
      await npm.release(workspace, PACKAGE, '1.2.0', npmKey, 'signet-ledger.jsonl');
      await npm.attachProvenance(PACKAGE, '1.2.0', 'evil/fork', 'evil/fork/.github/workflows/release.yml@refs/heads/main');

      fs.rmSync(path.join(workspace, '.signet-monitor'), { recursive: true });
      expect(await runGitHubWorkflow(workflow, workspace, bin, cache, 3)).toMatchObject({
        ok: false,
        exitCode: 1,
        outputs: { monitor: { status: '1' } },
      });
      const filed = issues.map((issue) => /^signet monitor: (.+) \[[0-9a-f]{32}\]$/.exec(issue.title)?.[1]);
      expect(filed.sort()).toEqual(
        [
          `unexpected-entry at ${stack.rekor.url} entry ${asYou}`,
          `unexpected-entry at ${stack.rekor.url} entry ${withYourKey}`,
          `unexpected-entry at ${stack.rekorV2.url} entry ${otherWorkflow}`,
          `log-fork at ${forkable.url}`,
          `npm-unexpected-version at ${PACKAGE}@1.1.1`,
          `npm-provenance-missing at ${PACKAGE}@1.1.1`,
          `npm-provenance-identity at ${PACKAGE}@1.2.0`,
        ].sort(),
      );
      const body = (where: string) => issues.find((issue) => issue.title.includes(where))?.body ?? '';
      expect(body(`entry ${asYou} [`)).toContain('matching certIdentities[0], oidMatchers source-repository-uri; not in the ledger');
      expect(body(`${stack.rekor.url} entry ${withYourKey} [`)).toContain(
        `signed by key sha256:${fingerprintOf(pem)}, matching fingerprints`,
      );
      expect(body(`${stack.rekorV2.url} entry ${otherWorkflow} [`)).toContain(
        'matching oidMatchers source-repository-uri; not in the ledger',
      );
      expect(body('log-fork')).toContain('consistency proof');
      expect(body('@1.2.0')).toContain('https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main');

      // The next run: nothing new, no issue filed again.
      fs.rmSync(path.join(workspace, '.signet-monitor'), { recursive: true });
      expect(await runGitHubWorkflow(workflow, workspace, bin, cache, 4)).toMatchObject({ ok: true });
      expect(issues).toHaveLength(7);
    } finally {
      await forkable.stop();
    }
  }, 300_000);
});
