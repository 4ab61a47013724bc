// What the monitor's tests share: running `signet` (sign, monitor) as a user would, monitor
// configs, and trusted roots that list the emulators' logs.

import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SigstoreStack, TrustedRootJson } from '@signet/emulators/sigstore';
import { childEnv, type RunResult, SIGNET, signetAsync } from '@signet/test-support';
import type { Alert } from '../src';

export interface MonitorRun extends RunResult {
  alerts: Alert[];
  failures: { source: string; code: string; message: string }[];
}

/** Runs `signet monitor --config DIR/monitor.json --json` (the config written from `config`). */
export async function monitor(
  dir: string,
  config: object,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
  json = true,
): Promise<MonitorRun> {
  fs.writeFileSync(path.join(dir, 'monitor.json'), JSON.stringify({ state: 'state.json', ledger: 'ledger.jsonl', ...config }, null, 2));
  const result = await run(['monitor', '--config', 'monitor.json', ...(json ? ['--json'] : []), ...args], dir, env);
  let parsed: { alerts?: Alert[]; failures?: MonitorRun['failures'] } = {};
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    // a run killed on purpose, or a usage error before any JSON: the status says which
  }
  return { ...result, alerts: parsed.alerts ?? [], failures: parsed.failures ?? [] };
}

/** `signet …` that must succeed. */
export async function ok(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const result = await signetAsync(args, { cwd: dir, env });
  if (result.status !== 0) throw new Error(`signet ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result;
}

/** A GitHub Actions token from the stack's issuer: `repository` ran `workflow` (OWNER/REPO/.github/workflows/FILE@REF). */
export function githubToken(stack: SigstoreStack, repository: string, workflow: string, ref = 'refs/tags/v1.0.0'): Promise<string> {
  const [owner] = repository.split('/');
  return stack.mintToken({
    subject: `repo:${repository}:ref:${ref}`,
    claims: {
      job_workflow_ref: workflow,
      job_workflow_sha: 'b'.repeat(40),
      workflow_ref: `${repository}/.github/workflows/release.yml@${ref}`,
      workflow_sha: 'a'.repeat(40),
      repository,
      repository_id: '1234',
      repository_owner: owner,
      repository_owner_id: '5678',
      repository_visibility: 'public',
      ref,
      sha: 'a'.repeat(40),
      event_name: 'push',
      runner_environment: 'github-hosted',
      run_id: String(crypto.randomInt(1_000_000)),
      run_attempt: '1',
    },
  });
}

/** A file with unique content to sign. */
export function artifact(dir: string, name: string): string {
  fs.writeFileSync(path.join(dir, name), `${name} ${crypto.randomUUID()}\n`);
  return name;
}

/** The stack's trusted root with more transparency logs (a standalone Rekor, a tiles folder). */
export function trustedRootWith(
  base: TrustedRootJson,
  logs: { baseUrl: string; publicKey: Buffer; logId: Buffer; keyDetails: string }[],
): TrustedRootJson {
  const validFor = { start: new Date(Date.now() - 86_400_000).toISOString() };
  return {
    ...base,
    tlogs: [
      ...base.tlogs,
      ...logs.map((log) => ({
        baseUrl: log.baseUrl,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: log.publicKey.toString('base64'), keyDetails: log.keyDetails, validFor },
        logId: { keyId: log.logId.toString('base64') },
        checkpointKeyId: { keyId: log.logId.toString('base64') },
        operator: 'signet-tests',
      })),
    ],
  } as TrustedRootJson;
}

/** sha256 hex of a PEM public key's DER SPKI, as rekor-monitor's fingerprints are written. */
export function fingerprintOf(pem: string): string {
  return crypto
    .createHash('sha256')
    .update(crypto.createPublicKey(pem).export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** The log indexes of a bundle's entries. */
export function logIndexesOf(dir: string, bundle: string): number[] {
  const json = JSON.parse(fs.readFileSync(path.join(dir, bundle), 'utf8')) as {
    verificationMaterial: { tlogEntries: { logIndex?: string }[] };
  };
  return json.verificationMaterial.tlogEntries.map((entry) => Number(entry.logIndex ?? 0));
}

/** `signet ARGS`; a run killed by a signal (the kill-safety tests) has status null. */
function run(args: string[], cwd: string, env: Record<string, string | undefined>): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [SIGNET, ...args],
      { cwd, env: childEnv(env), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}
