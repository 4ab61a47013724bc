import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ProviderOptions, SignetError } from '@signet/core';
import type NodeVault from 'node-vault';

/** How the library API configures the provider; each setting falls back to cosign's environment variables. */
export interface VaultProviderOptions {
  /** Vault's address; else VAULT_ADDR. */
  endpoint?: string;
  /** A Vault token; else VAULT_TOKEN, else the file `vault login` writes (~/.vault-token). */
  token?: string;
  /** A Vault Enterprise / OpenBao namespace, sent as X-Vault-Namespace; else VAULT_NAMESPACE. */
  namespace?: string;
  /** Where the Transit engine is mounted; else TRANSIT_SECRET_ENGINE_PATH, else `transit`. */
  mountPath?: string;
  /** A node-vault client already configured (address, token, namespace, TLS); replaces endpoint, token and namespace. */
  client?: NodeVault.client;
  /**
   * How RSA keys sign. Transit RSA keys carry no padding of their own, so it is chosen here:
   * `pkcs1v15` (the default, as cosign signs, and what every verifier accepts) or `pss`
   * (Vault's maximum salt length; sigstore-js does not verify it with a plain RSA key).
   */
  rsaSignatureAlgorithm?: 'pkcs1v15' | 'pss';
  /** Attempts per remote call, including the first (default 5). */
  attempts?: number;
  /** Overall deadline per remote call, retries included (default 30 s). */
  deadlineMs?: number;
  /** First backoff step between retries (default 200 ms). */
  baseDelayMs?: number;
}

/** The settings one open() or create() works with. */
export interface VaultSettings {
  client: NodeVault.client;
  mountPath: string;
  /** What to show for the address in messages: VAULT_ADDR's origin, never credentials. */
  address: string;
  /** Strings that must never reach a message (the token). */
  secrets: string[];
  rsaSignatureAlgorithm: 'pkcs1v15' | 'pss';
  attempts?: number;
  deadlineMs: number;
  baseDelayMs?: number;
}

const SETTINGS = [
  'endpoint',
  'token',
  'namespace',
  'mountPath',
  'client',
  'rsaSignatureAlgorithm',
  'attempts',
  'deadlineMs',
  'baseDelayMs',
] as const;

/** The factory's options, overridden by any the caller passed to open()/create(). */
export function mergeOptions(defaults: VaultProviderOptions, options: ProviderOptions): VaultProviderOptions {
  const merged: Record<string, unknown> = { ...defaults };
  for (const name of SETTINGS) if (options[name] !== undefined) merged[name] = options[name];
  return merged as VaultProviderOptions;
}

export function resolveSettings(options: VaultProviderOptions, env: NodeJS.ProcessEnv, keyRef: string): VaultSettings {
  const mountPath = (options.mountPath ?? nonEmpty(env.TRANSIT_SECRET_ENGINE_PATH) ?? 'transit').replace(/^\/+|\/+$/g, '');
  const rsaSignatureAlgorithm = options.rsaSignatureAlgorithm ?? 'pkcs1v15';
  if (rsaSignatureAlgorithm !== 'pkcs1v15' && rsaSignatureAlgorithm !== 'pss') {
    throw new SignetError({
      code: 'E_INPUT',
      message: `rsaSignatureAlgorithm must be "pkcs1v15" or "pss", not "${String(rsaSignatureAlgorithm)}"`,
    });
  }
  const common = {
    mountPath,
    rsaSignatureAlgorithm,
    attempts: options.attempts,
    deadlineMs: options.deadlineMs ?? 30_000,
    baseDelayMs: options.baseDelayMs,
  };
  if (options.client) {
    const token = options.client.token;
    return { ...common, client: options.client, address: originOf(options.client.endpoint), secrets: token ? [token] : [] };
  }

  const endpoint = options.endpoint ?? nonEmpty(env.VAULT_ADDR);
  if (!endpoint) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `VAULT_ADDR is not set; set it to your Vault's address (e.g. https://vault.example.com:8200) to use ${keyRef}`,
    });
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new SignetError({ code: 'E_INPUT', message: 'VAULT_ADDR is not a URL; set it to e.g. https://vault.example.com:8200' });
  }
  const token = options.token ?? nonEmpty(env.VAULT_TOKEN) ?? tokenFromFile(env);
  if (!token) {
    throw new SignetError({
      code: 'E_PERMISSION',
      message: `no Vault token to use ${keyRef}: set VAULT_TOKEN, or log in with \`vault login\` (which writes ~/.vault-token)`,
    });
  }
  const namespace = options.namespace ?? nonEmpty(env.VAULT_NAMESPACE);
  const createClient = require('node-vault') as typeof NodeVault;
  const client = createClient({ endpoint: url.href.replace(/\/$/, ''), token, namespace });
  // node-vault falls back to process.env for what it is not given; pin what was resolved here,
  // so a caller's `env` (or an explicit option) is the whole truth.
  client.token = token;
  (client as { namespace?: string }).namespace = namespace;
  return { ...common, client, address: url.origin, secrets: [token] };
}

/** The token `vault login` saved, as the Vault CLI and cosign read it. */
function tokenFromFile(env: NodeJS.ProcessEnv): string | undefined {
  const home = nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE) ?? os.homedir();
  try {
    return nonEmpty(fs.readFileSync(path.join(home, '.vault-token'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return 'the configured address';
  }
}
