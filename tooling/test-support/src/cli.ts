// Runs the real, built `signet` command in a child process, in a fresh directory per test.
// Shared by every package whose tests drive the CLI (the command is what users meet).
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The CLI exactly as users run it: bin/signet.js over the built dist/. */
export const SIGNET = path.resolve(__dirname, '../../../packages/cli/bin/signet.js');
/** The sigstore-conformance protocol's entrypoint, a bin of the CLI package. */
export const SIGNET_CONFORMANCE = path.resolve(__dirname, '../../../packages/cli/bin/signet-conformance.js');

export const PASSWORD = 'correct horse battery staple';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  /** Added to (or, when undefined, removed from) the child's environment. */
  env?: Record<string, string | undefined>;
  /** Arguments for node itself, before the script (e.g. `-r preload.js`). */
  nodeArgs?: string[];
  /** The script to run (default: the signet CLI). */
  script?: string;
  /** Kill the command after this long (status null): for attacks that used to hang it. */
  timeoutMs?: number;
}

/** The child's environment: ours, minus anything that would change Signet's behaviour, plus the passphrase. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('SIGNET_') && name !== 'NODE_OPTIONS') env[name] = value;
  }
  env.SIGNET_PASSWORD = PASSWORD;
  // Tests never reach the internet: the public-good trusted root comes from the embedded copy.
  env.SIGNET_OFFLINE = '1';
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `signet ARGS` and waits for it. stdin is empty, so the CLI never waits for a prompt. */
export function signet(args: readonly string[], options: RunOptions): RunResult {
  const result = spawnSync(process.execPath, [...(options.nodeArgs ?? []), options.script ?? SIGNET, ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    input: '',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same, without blocking, for running many invocations side by side. */
export function signetAsync(args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), options.script ?? SIGNET, ...args],
      { cwd: options.cwd, env: childEnv(options.env), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 0 },
      (error, stdout, stderr) => {
        if (error?.killed) {
          resolve({ status: null, stdout, stderr: `${stderr}(killed after ${options.timeoutMs} ms)` });
          return;
        }
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ status: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** Runs a command that must succeed, with a readable failure otherwise. */
export function signetOk(args: readonly string[], options: RunOptions): RunResult {
  const result = signet(args, options);
  if (result.status !== 0) {
    throw new Error(`signet ${args.join(' ')} exited ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

/** A fresh temporary directory for each test of the calling file, removed after it. */
export function useTempDir(): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cli-test-'));
  });
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error('the temporary directory exists only inside a test');
    return dir;
  };
}

/**
 * Every entry under `dir` (files with their bytes, directories and links by kind),
 * to show that a failed command wrote, changed and left behind nothing.
 */
export function snapshotDir(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const name = path.join(relative, entry.name);
      const full = path.join(dir, name);
      if (entry.isDirectory()) {
        entries[`${name}/`] = 'directory';
        walk(name);
      } else if (entry.isFile()) {
        const stat = fs.statSync(full);
        entries[name] = `mode ${(stat.mode & 0o777).toString(8)} sha256 ${sha256Hex(fs.readFileSync(full))} size ${stat.size}`;
      } else {
        entries[name] = 'other';
      }
    }
  };
  walk('');
  return entries;
}

const ERROR_LINE = /^signet: (E_[A-Z_]+): (\S.*)$/;

/**
 * Checks that stderr is exactly one line, `signet: E_CODE: message`, and returns the
 * code and message.
 */
export function singleErrorLine(stderr: string): { code: string; message: string } {
  const lines = stderr.split('\n').filter((line, i, all) => !(line === '' && i === all.length - 1));
  expect(lines).toHaveLength(1);
  const match = ERROR_LINE.exec(lines[0] ?? '');
  if (!match) throw new Error(`stderr is not "signet: E_CODE: message": ${JSON.stringify(stderr)}`);
  return { code: match[1] as string, message: match[2] as string };
}

/** The `signet: E_…` lines of stderr (other lines, such as warnings, ignored). */
export function errorLines(stderr: string): { code: string; message: string }[] {
  return stderr
    .split('\n')
    .map((line) => ERROR_LINE.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ code: match[1] as string, message: match[2] as string }));
}

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** `signet key generate` into `dir`: returns the key reference and the .pub path (both relative to dir). */
export function generateKey(dir: string, name: string, algorithm?: string): { key: string; pub: string } {
  const args = ['key', 'generate', '--key', `file:${name}.key`];
  if (algorithm) args.push('--algorithm', algorithm);
  signetOk(args, { cwd: dir });
  return { key: `file:${name}.key`, pub: `${name}.pub` };
}

/** Writes a file under `dir` and returns its name. */
export function writeFile(dir: string, name: string, content: string | Uint8Array): string {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), content);
  return name;
}

export function readJson(dir: string, name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;
}

/** Runs a tool such as openssl; throws with its output if it fails. */
export function tool(command: string, args: readonly string[], cwd: string, input?: string | Buffer): string {
  const result = spawnSync(command, args, { cwd, input, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** Runs a tool and returns its status and output without judging it. */
export function toolStatus(command: string, args: readonly string[], cwd: string): RunResult {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The shared vectors folder (../shared/vectors or SIGNET_VECTORS), or undefined. */
export function vectorsDir(): string | undefined {
  const vectors = require('@signet/jest-config/vectors') as { vectorsDir(): string | undefined };
  return vectors.vectorsDir();
}
