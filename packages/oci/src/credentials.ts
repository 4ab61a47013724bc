import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SignetError } from '@signet/core';

/** What a registry is told who we are: a user and password, or an OAuth2 refresh token. */
export type Credential = { username: string; password: string } | { identityToken: string };

/** Finds the credential for a registry host, or none (anonymous). */
export type CredentialSource = (registry: string) => Promise<Credential | undefined>;

/**
 * Credentials the way Docker, cosign and crane find them:
 * 1. SIGNET_REGISTRY_USERNAME and SIGNET_REGISTRY_PASSWORD, for the registry named by
 *    SIGNET_REGISTRY_HOST and no other (a CI secret must not reach whatever registry an image
 *    names, so without the host they are refused rather than sent everywhere);
 * 2. `$DOCKER_CONFIG/config.json` (default ~/.docker/config.json): the registry's
 *    credHelpers entry, else its auths entry (auth, username/password or identitytoken),
 *    else the credsStore helper.
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): CredentialSource {
  let config: Promise<DockerConfig> | undefined;
  return async (registry) => {
    const username = env.SIGNET_REGISTRY_USERNAME;
    const password = env.SIGNET_REGISTRY_PASSWORD;
    if (username || password) {
      if (!username || !password || !env.SIGNET_REGISTRY_HOST) {
        throw new SignetError({
          code: 'E_USAGE',
          message:
            'set SIGNET_REGISTRY_USERNAME, SIGNET_REGISTRY_PASSWORD and SIGNET_REGISTRY_HOST together: the host names the one registry the credentials are for',
        });
      }
      if (env.SIGNET_REGISTRY_HOST === registry) return { username, password };
    }
    config ??= readDockerConfig(env);
    return fromDockerConfig(await config, registry);
  };
}

interface DockerAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfig {
  file: string;
  auths?: Record<string, DockerAuth>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

async function readDockerConfig(env: NodeJS.ProcessEnv): Promise<DockerConfig> {
  const file = path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return { file };
  }
  try {
    return { ...(JSON.parse(text) as Omit<DockerConfig, 'file'>), file };
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `${file} is not valid JSON; fix or remove it (docker login writes it)`, cause });
  }
}

/** Docker Hub is stored under its v1 URL; others by host, sometimes as a URL. */
function configKeys(registry: string): string[] {
  if (registry === 'docker.io') return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  return [registry, `https://${registry}`, `http://${registry}`];
}

async function fromDockerConfig(config: DockerConfig, registry: string): Promise<Credential | undefined> {
  const keys = configKeys(registry);
  const helper = keys.map((key) => config.credHelpers?.[key]).find(Boolean);
  if (helper) return fromHelper(helper, keys[0] as string);
  const entry =
    keys.map((key) => config.auths?.[key]).find(Boolean) ??
    Object.entries(config.auths ?? {}).find(([key]) => key.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === registry)?.[1];
  if (entry) {
    if (entry.identitytoken) return { identityToken: entry.identitytoken };
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      throw new SignetError({ code: 'E_INPUT', message: `${config.file}: the auth entry for ${registry} is not base64 of user:password` });
    }
  }
  if (config.credsStore) return fromHelper(config.credsStore, keys[0] as string);
  return undefined;
}

/** `docker-credential-NAME get`, as Docker runs it: the server URL on stdin, JSON on stdout. */
function fromHelper(name: string, serverUrl: string): Promise<Credential | undefined> {
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${name}`, ['get'], { timeout: 30_000 }, (error, stdout) => {
      if (error) {
        // The helper says "credentials not found" for a registry it has nothing for.
        if (/not found/i.test(stdout) || (error as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
        return reject(
          new SignetError({
            code: 'E_PERMISSION',
            message: `the credential helper docker-credential-${name} failed for ${serverUrl}`,
            cause: error,
          }),
        );
      }
      try {
        const { Username, Secret } = JSON.parse(stdout) as { Username: string; Secret: string };
        resolve(Username === '<token>' ? { identityToken: Secret } : { username: Username, password: Secret });
      } catch (cause) {
        reject(new SignetError({ code: 'E_PERMISSION', message: `docker-credential-${name} answered something other than JSON`, cause }));
      }
    });
    child.stdin?.end(serverUrl);
  });
}
