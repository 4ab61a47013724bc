// Real webpack builds of the fixture apps, each in a child process (child.js), and the
// checks the tests make on their output with the real `signet` command.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnv, generateKey, type RunResult, signetAsync } from '@signet/test-support';
import type { BuildJob, BuildReport } from './job';

export const FIXTURE_APP = path.resolve(__dirname, '../fixtures/app');
export const MANIFEST = '.well-known/signet/manifest.sigstore.json';
const CHILD = path.join(__dirname, 'child.js');

export interface BuildResult {
  /** The child's exit status: 0, or 1 when the build has errors (as webpack-cli). */
  status: number | null;
  report: BuildReport;
  stderr: string;
}

// A few builds side by side; more would only make each slower.
const slots = Math.max(2, os.availableParallelism());
let running = 0;
const queue: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= slots) await new Promise<void>((resolve) => queue.push(resolve));
  running += 1;
  try {
    return await fn();
  } finally {
    running -= 1;
    queue.shift()?.();
  }
}

function start(job: BuildJob, env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, [CHILD, JSON.stringify(job)], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
}

function parseReport(line: string, stderr: string): BuildReport {
  try {
    return JSON.parse(line) as BuildReport;
  } catch {
    throw new Error(`the build printed no report: ${JSON.stringify(line)}\nstderr: ${stderr}`);
  }
}

/** Builds started and not yet finished (a test run filtered with -t awaits only some of them). */
const inFlight = new Set<Promise<void>>();

/** Builds once. The returned promise is already handled, so it may be started early and awaited later. */
export function build(job: BuildJob, env: Record<string, string | undefined> = {}): Promise<BuildResult> {
  const result = limited(
    () =>
      new Promise<BuildResult>((resolve, reject) => {
        const child = start(job, env);
        child.stdin?.end();
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (chunk) => {
          stdout += chunk;
        });
        child.stderr?.on('data', (chunk) => {
          stderr += chunk;
        });
        child.on('error', reject);
        child.on('close', (status) => {
          try {
            resolve({ status, report: parseReport(stdout.trim(), stderr), stderr });
          } catch (error) {
            reject(error);
          }
        });
      }),
  );
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  inFlight.add(settled);
  void settled.then(() => inFlight.delete(settled));
  return result;
}

export interface Watcher {
  /** The next build's report that satisfies `accept` (default: the next one). */
  next(accept?: (report: BuildReport) => boolean): Promise<BuildReport>;
  /** Stops watching; resolves with the child's exit status. */
  close(): Promise<number | null>;
}

/** Watches: one report per build, until closed. */
export function watch(job: BuildJob): Watcher {
  const child = start({ ...job, watch: true }, {});
  const reports: BuildReport[] = [];
  let waiting: (() => void) | undefined;
  let stderr = '';
  let pending = '';
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  void exit.then((status) => {
    exited = status;
    waiting?.();
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout?.on('data', (chunk) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      reports.push(parseReport(pending.slice(0, end), stderr));
      pending = pending.slice(end + 1);
    }
    waiting?.();
  });
  return {
    async next(accept = () => true) {
      for (;;) {
        const report = reports.shift();
        if (report && accept(report)) return report;
        if (report) continue;
        if (exited !== undefined) throw new Error(`the watch ended (status ${exited}) before the build awaited\nstderr: ${stderr}`);
        await new Promise<void>((resolve) => {
          waiting = resolve;
        });
      }
    },
    close() {
      child.stdin?.end();
      return exit;
    },
  };
}

/** A folder for the calling test file, removed after it. */
export function useFileTempDir(): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-webpack-'));
  });
  afterAll(async () => {
    await Promise.all(inFlight);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('the temporary folder exists only while the file runs');
    return dir;
  };
}

/** A signing key made by `signet key generate` (encrypted with the tests' SIGNET_PASSWORD): its key reference and public key file. */
export function makeKey(dir: string): { key: string; pub: string } {
  const { key, pub } = generateKey(dir, 'signing');
  return { key: `file:${path.join(dir, key.slice('file:'.length))}`, pub: path.join(dir, pub) };
}

/** `signet verify-dir DIR --key PUB [ARGS]`. */
export function verifyDir(dir: string, pub: string, args: string[] = []): Promise<RunResult> {
  return signetAsync(['verify-dir', dir, '--key', pub, ...args], { cwd: path.dirname(dir) });
}

export interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

/** The signed statement of a manifest bundle (its DSSE payload; verify-dir checks the signature). */
export function statementOf(bundlePath: string): Statement {
  const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8')) as { dsseEnvelope: { payload: string } };
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
}

/** Every file under `dir`, as sorted posix paths relative to it; [] when it does not exist. */
export function filesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

/** Copies a build's output, for a test that changes it. */
export function copyOf(dir: string, to: string): string {
  fs.cpSync(dir, to, { recursive: true });
  return to;
}
