// A real npm registry: Verdaccio 6.8 running in the calling process on 127.0.0.1, with
// throw-away storage, for tests, the example and the benchmarks, driven by the real `npm` CLI.
// In-process on purpose: the jest network guard then sees every connection Verdaccio makes,
// so a stray uplink fails the test.
import fs from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RegistrySigning, type RegistrySigningOptions } from './signing';

export { NPM_PUBLISH_V01, type RegistryKeyPair, RegistrySigning, type RegistrySigningOptions, SLSA_PROVENANCE_V1 } from './signing';
export { SIGSTORE_TUF_HOST, type SigstoreCdn, startSigstoreCdn } from './sigstore-cdn';

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
  /** The HTTP server, for callers that watch its requests. */
  server: Server;
  /**
   * With `signing`: the keys, signatures and attestations it serves as registry.npmjs.org does
   * (/-/npm/v1/keys, dist.signatures, /-/npm/v1/attestations/NAME@VERSION).
   */
  signing?: RegistrySigning;
  /** Closes the server and removes storage, htpasswd and home. */
  stop(): Promise<void>;
}

const USER = { name: 'signet-test', password: 'signet-test-password' };

export interface NpmRegistryOptions {
  /** Serve registry keys, signatures and attestations as registry.npmjs.org does (see RegistrySigning). */
  signing?: RegistrySigningOptions;
}

export async function startNpmRegistry(options: NpmRegistryOptions = {}): Promise<LocalRegistry> {
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
  const signing = options.signing ? new RegistrySigning(storage, () => url, options.signing) : undefined;
  if (signing) {
    // Verdaccio's own handler, behind the signing side.
    const verdaccio = server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => signing.handle(req, res, verdaccio));
  }

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
    server,
    signing,
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
