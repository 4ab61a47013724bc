// Real Vite builds of the fixtures, each in a child process running test/support/build.mjs.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnv, generateKey, type RunResult, signetAsync } from '@signet/test-support';

export const VITES = ['7', '8'] as const;
export type ViteMajor = (typeof VITES)[number];

const PACKAGE = path.resolve(__dirname, '..');
const BUILD_SCRIPT = path.join(__dirname, 'support', 'build.mjs');
export const MANIFEST = '.well-known/signet/manifest.sigstore.json';

export interface BuildSpec {
  vite: ViteMajor;
  root: string;
  configFile?: boolean;
  signet?: Record<string, unknown>;
  config?: Record<string, unknown>;
  mode?: 'build' | 'app' | 'watch' | 'serve';
  spy?: string;
  spyFails?: boolean;
  rewrite?: 'normal' | 'post';
}

/**
 * The child processes load the plugin from dist/ (as a user's vite.config does): a dist
 * older than src/ would test old code, so say so instead.
 */
export function assertBuilt(): void {
  const newest = (dir: string): number => Math.max(...fs.readdirSync(dir).map((name) => fs.statSync(path.join(dir, name)).mtimeMs), 0);
  const dist = path.join(PACKAGE, 'dist');
  if (!fs.existsSync(path.join(dist, 'index.js')) || newest(dist) < newest(path.join(PACKAGE, 'src'))) {
    throw new Error('packages/vite-plugin/dist is missing or older than src/: run `npx tsc -b packages/vite-plugin` first');
  }
}

/** A scratch folder for one test file, with a signing key in it; removed afterwards. */
export function useWorkspace(): { dir: () => string; key: () => string; pub: () => string } {
  let dir: string | undefined;
  beforeAll(() => {
    assertBuilt();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-vite-test-'));
    generateKey(dir, 'signing');
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  const current = () => {
    if (!dir) throw new Error('the workspace exists only inside the tests');
    return dir;
  };
  return { dir: current, key: () => `file:${path.join(current(), 'signing.key')}`, pub: () => path.join(current(), 'signing.pub') };
}

let copies = 0;

/**
 * A copy of a fixture app to build, in the workspace, with node_modules/@signet/vite-plugin
 * linked to the repository's (packages/vite-plugin, whose main is dist/), as an installed
 * plugin resolves from a project.
 */
export function copyFixture(workspace: string, fixture: 'app' | 'lib'): string {
  const root = path.join(workspace, `${fixture}-${++copies}`);
  fs.cpSync(path.join(__dirname, 'fixtures', fixture), root, { recursive: true, filter: (src) => path.basename(src) !== 'dist' });
  fs.mkdirSync(path.join(root, 'node_modules', '@signet'), { recursive: true });
  fs.symlinkSync(PACKAGE, path.join(root, 'node_modules', '@signet', 'vite-plugin'), 'dir');
  return root;
}

/** Runs one build to completion. */
export function runBuild(spec: BuildSpec, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = startBuild(spec, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs a build that must succeed. */
export async function build(spec: BuildSpec, env: Record<string, string> = {}): Promise<RunResult> {
  const result = await runBuild(spec, env);
  if (result.status !== 0 || !result.stdout.includes('@@result ok')) {
    throw new Error(`the Vite ${spec.vite} build of ${spec.root} failed (${result.status})\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

export function startBuild(spec: BuildSpec, env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BUILD_SCRIPT, JSON.stringify(spec)], { cwd: spec.root, env: childEnv(env) });
}

export interface WatchSession {
  /** Resolves when the watcher has printed `text` (now or later); rejects if it exits first. */
  printed(text: string): Promise<void>;
  /**
   * Resolves once no build is running and none has started for `quietMs`: one edit can reach
   * the watcher as two change events (truncate, then write), and so start a second rebuild.
   */
  settled(quietMs?: number): Promise<void>;
  /** How many builds have ended so far. */
  builds(): number;
  /** Closes the watcher (by closing its stdin) and resolves with its exit status. */
  close(): Promise<number | null>;
  kill(): void;
}

/** A build in watch mode, driven by what it prints ("@@start" and "@@end N" around each build). */
export function watchBuild(spec: BuildSpec, env: Record<string, string> = {}): WatchSession {
  const child = startBuild({ ...spec, mode: 'watch' }, env);
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const settle = () => {
    for (const waiter of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  child.stdout.on('data', (chunk) => {
    output += chunk;
    settle();
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    printed: (text) =>
      Promise.race([
        new Promise<void>((resolve) => {
          waiters.push({ text, resolve });
          settle();
        }),
        exited.then(() => Promise.reject(new Error(`the watcher exited before printing ${text}:\n${output}`))),
      ]),
    settled: async (quietMs = 3000) => {
      for (;;) {
        const seen = output.length;
        await new Promise((resolve) => setTimeout(resolve, quietMs));
        const count = (marker: RegExp) => (output.match(marker) ?? []).length;
        if (output.length === seen && count(/@@start/g) === count(/@@end \d+/g)) return;
        if (child.exitCode !== null) throw new Error(`the watcher exited while waiting for it to settle:\n${output}`);
      }
    },
    builds: () => (output.match(/@@end \d+/g) ?? []).length,
    close: () => {
      child.stdin.end();
      return exited;
    },
    kill: () => child.kill(),
  };
}

/** `signet verify-dir DIR --key PUB …` with the real CLI. */
export function verifyDir(dir: string, pub: string, ...args: string[]): Promise<RunResult> {
  return signetAsync(['verify-dir', dir, '--key', pub, ...args], { cwd: dir });
}

export interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

/** The in-toto statement a manifest bundle signs. */
export function readStatement(file: string): Statement {
  const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as { dsseEnvelope: { payload: string } };
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
}

/** Every file under `dir`, as sorted posix paths relative to it. */
export function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

/** The lines the spy key provider wrote ("open", "sign"), or none if it was never opened. */
export function spyLines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}
