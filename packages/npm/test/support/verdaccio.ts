// The npm side of the tests: the local registry (Verdaccio, from @signet/emulators), the real
// npm CLI run against it, and small packages to publish.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { LocalRegistry } from '@signet/emulators/npm-registry';

export { type LocalRegistry, startNpmRegistry as startRegistry } from '@signet/emulators/npm-registry';

export interface NpmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the real npm CLI; resolves (never rejects) with its exit status and output. */
export function npm(args: string[], options: { cwd: string; env: Record<string, string> }): Promise<NpmResult> {
  return new Promise((resolve) => {
    execFile('npm', args, { ...options, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

/** `npm publish` in the package folder DIR, against REGISTRY. */
export function publishPackage(registry: LocalRegistry, dir: string): Promise<NpmResult> {
  return npm(['publish'], { cwd: dir, env: registry.npmEnv(registry.home) });
}

/** Writes a minimal package (package.json, index.js and FILES) under ROOT and returns its folder. */
export function makePackage(root: string, spec: { name: string; version: string; files?: Record<string, string> }): string {
  const dir = path.join(root, `${spec.name.replace('/', '+')}@${spec.version}`);
  const files = {
    'package.json': `${JSON.stringify({ name: spec.name, version: spec.version, main: 'index.js', license: 'MIT' }, null, 2)}\n`,
    'index.js': `module.exports = ${JSON.stringify(`${spec.name}@${spec.version}`)};\n`,
    ...spec.files,
  };
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}
