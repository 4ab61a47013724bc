// A real npm registry for tests: Verdaccio 6.8 running inside the jest process on 127.0.0.1,
// with throw-away storage, driven by the real `npm` CLI. In-process on purpose: the jest
// network guard then sees every connection Verdaccio makes, so a stray uplink fails the test.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface LocalRegistry {
  /** http://127.0.0.1:PORT/ (with the trailing slash npm expects). */
  url: string;
  /** An auth token for a user that may publish. */
  token: string;
  /** Verdaccio's storage folder; tests may tamper with the tarballs in it. */
  storage: string;
  /** A scratch folder for npm's own config and cache (see publishPackage); removed by stop(). */
  home: string;
  /** Where Verdaccio keeps the tarball of NAME@VERSION once it is published. */
  tarballPath(name: string, version: string): string;
  /** Writes DIR/.npmrc pointing npm at this registry with the token; returns its path. */
  npmrc(dir: string): string;
  /**
   * The environment for running the real npm CLI against this registry, with its config and
   * cache in DIR. DIR should not be a package folder: npm would pack the cache into it.
   */
  npmEnv(dir: string): Record<string, string>;
  /** Closes the server and removes storage, htpasswd and home. */
  stop(): Promise<void>;
}

export interface NpmResult {
  status: number;
  stdout: string;
  stderr: string;
}

const USER = { name: 'signet-test', password: 'signet-test-password' };

export async function startRegistry(): Promise<LocalRegistry> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-verdaccio-'));
  const storage = path.join(root, 'storage');
  const home = path.join(root, 'npm-home');
  fs.mkdirSync(home);
  const access = { access: '$all', publish: '$authenticated' };
  const config = {
    // Verdaccio resolves relative paths against the config file; there is none, so all are absolute.
    self_path: path.join(root, 'config.yaml'),
    configPath: path.join(root, 'config.yaml'),
    storage,
    auth: { htpasswd: { file: path.join(root, 'htpasswd') } },
    // No `uplinks` and no `proxy`: an unknown package must be a 404 here, never a fetch from
    // registry.npmjs.org, so tests are hermetic and see only what they published.
    packages: { '@*/*': access, '**': access },
    web: { enable: false },
    // json, not pretty: the pretty format starts a pino worker thread that outlives stop().
    log: { type: 'stdout', format: 'json', level: 'fatal' },
  };

  let server: Server;
  try {
    // Required lazily so test files that never start a registry don't pay for loading it.
    const { runServer } = await import('verdaccio');
    server = await runServer(config as never);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;

  const stop = async () => {
    // npm keeps connections alive; without this close() waits for them to time out.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(root, { recursive: true, force: true });
  };

  let token: string;
  try {
    token = await addUser(url);
  } catch (error) {
    await stop();
    throw error;
  }

  const npmrc = (dir: string) => {
    const file = path.join(dir, '.npmrc');
    fs.writeFileSync(file, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    return file;
  };

  return {
    url,
    token,
    storage,
    home,
    // Verdaccio's local storage keeps STORAGE/<name>/<basename>-<version>.tgz, the scope
    // being a folder of its own: @scope/pkg@1.0.0 is STORAGE/@scope/pkg/pkg-1.0.0.tgz.
    tarballPath: (name, version) => path.join(storage, name, `${name.split('/').pop()}-${version}.tgz`),
    npmrc,
    npmEnv(dir) {
      // Drop the npm_config_* that `npx jest` / `npm test` export: they would override the npmrc.
      const env = Object.fromEntries(
        Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !/^npm_/i.test(entry[0])),
      );
      return {
        ...env,
        // Our npmrc replaces the user's ~/.npmrc (this machine's sets nodedir and cafile).
        npm_config_userconfig: npmrc(dir),
        npm_config_registry: url,
        npm_config_cache: path.join(dir, '.npm-cache'),
        npm_config_update_notifier: 'false',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_loglevel: 'warn',
        NO_COLOR: '1',
      };
    },
    stop,
  };
}

/** Creates the test user the way `npm adduser` does, which answers with a bearer token. */
async function addUser(url: string): Promise<string> {
  const response = await fetch(new URL(`-/user/org.couchdb.user:${USER.name}`, url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _id: `org.couchdb.user:${USER.name}`, ...USER, type: 'user', roles: [], date: new Date().toISOString() }),
  });
  const body = (await response.json()) as { token?: string };
  if (!response.ok || !body.token) throw new Error(`verdaccio refused to add a user: ${response.status} ${JSON.stringify(body)}`);
  return body.token;
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
