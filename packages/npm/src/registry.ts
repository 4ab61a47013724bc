import { SignetError } from '@signet/core';

export const PUBLIC_NPM_REGISTRY = 'https://registry.npmjs.org/';

export interface RegistryOptions {
  /** The registry's base URL (default: the public npm registry). */
  registry?: string;
  /** A bearer token for the registry; sent to the registry's own origin only, never to other hosts. */
  token?: string;
}

export interface PackageVersion {
  name: string;
  version: string;
  dist: {
    tarball: string;
    integrity?: string;
    shasum?: string;
    signatures?: { keyid: string; sig: string }[];
    attestations?: { url: string; provenance?: { predicateType: string } };
  };
  /** Where a Signet-signed release says its bundle is published (see the README). */
  signet?: { bundle?: string };
}

export interface Packument {
  name: string;
  'dist-tags'?: Record<string, string>;
  versions: Record<string, PackageVersion>;
  time?: Record<string, string>;
}

/** A registry signing key, as `/-/npm/v1/keys` lists it (the public key is base64 SPKI DER). */
export interface RegistryKey {
  keyid: string;
  keytype: string;
  scheme: string;
  key: string;
  expires: string | null;
}

/** Reads packuments, tarballs, keys and attestations from one registry over HTTP. */
export class RegistryClient {
  readonly registry: string;
  private readonly token?: string;
  private keys?: Promise<RegistryKey[]>;

  constructor(options: RegistryOptions = {}) {
    const base = options.registry ?? PUBLIC_NPM_REGISTRY;
    this.registry = base.endsWith('/') ? base : `${base}/`;
    this.token = options.token;
  }

  /** The package document; 404 is E_INPUT naming the package and the registry. */
  async packument(name: string): Promise<Packument> {
    const escaped = name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
    const response = await this.get(new URL(escaped, this.registry).href, 'application/json');
    if (response.status === 404) throw new SignetError({ code: 'E_INPUT', message: `${name} is not on ${this.registry}` });
    return (await this.body(response, `${name}'s package document`).then((b) => JSON.parse(b.toString('utf8')))) as Packument;
  }

  async tarball(url: string): Promise<Buffer> {
    const response = await this.get(url, 'application/octet-stream');
    return this.body(response, url);
  }

  /** A JSON document, or undefined when the server has none (404). */
  async json<T>(url: string): Promise<T | undefined> {
    const response = await this.get(url, 'application/json');
    if (response.status === 404) return undefined;
    return JSON.parse((await this.body(response, url)).toString('utf8')) as T;
  }

  /** The registry's signing keys (none when it publishes none, as private registries don't). */
  registryKeys(): Promise<RegistryKey[]> {
    this.keys ??= this.json<{ keys: RegistryKey[] }>(new URL('-/npm/v1/keys', this.registry).href).then((doc) => doc?.keys ?? []);
    return this.keys;
  }

  private async get(url: string, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept, 'user-agent': 'signet' };
    // npm's own rule: credentials go to the registry they were configured for, not to a tarball host elsewhere.
    if (this.token && new URL(url).origin === new URL(this.registry).origin) headers.authorization = `Bearer ${this.token}`;
    try {
      return await fetch(url, { headers, redirect: 'follow' });
    } catch (cause) {
      throw new SignetError({ code: 'E_PROVIDER', message: `could not reach ${new URL(url).origin}: ${describe(cause)}`, cause });
    }
  }

  private async body(response: Response, what: string): Promise<Buffer> {
    if (response.status === 401 || response.status === 403) {
      throw new SignetError({
        code: 'E_PERMISSION',
        message: `${this.registry} refused to serve ${what} (${response.status}): check the registry token`,
      });
    }
    if (!response.ok) throw new SignetError({ code: 'E_PROVIDER', message: `${this.registry} answered ${response.status} for ${what}` });
    return Buffer.from(await response.arrayBuffer());
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
