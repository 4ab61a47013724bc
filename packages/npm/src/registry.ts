import { httpRequest, isLoopbackUrl, readJson, SignetError, type SignetErrorCode } from '@signet/core';

export const PUBLIC_NPM_REGISTRY = 'https://registry.npmjs.org/';

export interface RegistryOptions {
  /** The registry's base URL (default: the public npm registry). */
  registry?: string;
  /** A bearer token for the registry; sent to the registry's own origin only, never to other hosts. */
  token?: string;
  /**
   * Hosts besides the registry's own where a package's `signet.bundle` URL (and any document the
   * package document points to) may be: `github.com`, or `host:port` for one port only.
   */
  bundleHosts?: string[];
  /** Deadline per request, reading the body included (default 60 s; a tarball gets five times it). */
  timeoutMs?: number;
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

const MiB = 1024 * 1024;
/** Bounds on what is read: the largest packuments on the public registry are tens of MiB. */
const LIMITS = { packument: 128 * MiB, tarball: 256 * MiB, document: 16 * MiB, bundle: 4 * MiB };

/**
 * Reads packuments, tarballs, keys and attestations from one registry, through core's
 * httpRequest: plain HTTP only to a registry configured as http:// (or loopback), the token
 * only to the registry's origin, every read bounded. A document the package document points
 * to (a Signet bundle, attestations) is read only from the registry's own host or `bundleHosts`.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly registryUrl: URL;
  private readonly token?: string;
  private readonly bundleHosts: ReadonlySet<string>;
  private readonly timeoutMs: number;
  private keys?: Promise<RegistryKey[]>;

  constructor(options: RegistryOptions = {}) {
    const base = options.registry ?? PUBLIC_NPM_REGISTRY;
    this.registry = base.endsWith('/') ? base : `${base}/`;
    try {
      this.registryUrl = new URL(this.registry);
    } catch (cause) {
      throw new SignetError({ code: 'E_USAGE', message: `the registry ${base} is not a URL`, cause });
    }
    this.token = options.token;
    this.bundleHosts = new Set((options.bundleHosts ?? []).map((host) => host.toLowerCase()));
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** What this client was made with: another thread's client is made the same. */
  get settings(): RegistryOptions {
    return { registry: this.registry, token: this.token, bundleHosts: [...this.bundleHosts], timeoutMs: this.timeoutMs };
  }

  /** The package document; 404 is E_INPUT naming the package and the registry. */
  async packument(name: string): Promise<Packument> {
    const escaped = name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
    const what = `${name}'s package document`;
    const response = await this.get(new URL(escaped, this.registry), 'application/json', { maxBytes: LIMITS.packument, what });
    if (response.status === 404) throw new SignetError({ code: 'E_INPUT', message: `${name} is not on ${this.registry}` });
    await this.expectOk(response, what);
    return packumentOf(await readJson(response, `${what} from ${this.registry}`), `${what} from ${this.registry}`);
  }

  /** A tarball, wherever the package document says it is (npm's rule), but never a loopback or metadata address elsewhere. */
  async tarball(url: string): Promise<Buffer> {
    const response = await this.get(url, 'application/octet-stream', {
      maxBytes: LIMITS.tarball,
      timeoutMs: this.timeoutMs * 5,
      what: `the tarball ${url}`,
    });
    await this.expectOk(response, url);
    return Buffer.from(await response.arrayBuffer());
  }

  /** A JSON document the package document points to, or undefined when the server has none (404). */
  async json<T>(url: string): Promise<T | undefined> {
    const response = await this.get(url, 'application/json', {
      maxBytes: LIMITS.document,
      allowHost: this.documentHost,
      refusalCode: 'E_INPUT',
    });
    if (response.status === 404) return undefined;
    await this.expectOk(response, url);
    return (await readJson(response, `the document at ${url}`)) as T;
  }

  /**
   * The Signet bundle a package's `signet.bundle` URL names, as JSON text; undefined when there
   * is none (404). Only from the registry's own host or `bundleHosts`, at most 4 MiB; a URL
   * elsewhere, and a document that is not JSON, are E_BUNDLE (the body is never shown).
   */
  async signetBundle(url: string): Promise<string | undefined> {
    const response = await this.get(url, 'application/json', {
      maxBytes: LIMITS.bundle,
      allowHost: this.documentHost,
      refusalCode: 'E_BUNDLE',
      what: `the Signet bundle at ${url}`,
    });
    if (response.status === 404) return undefined;
    await this.expectOk(response, url);
    const text = await response.text();
    try {
      JSON.parse(text);
    } catch {
      throw new SignetError({ code: 'E_BUNDLE', message: `the Signet bundle at ${url} is not JSON` });
    }
    return text;
  }

  /** The registry's signing keys (none when it publishes none, as private registries don't). */
  registryKeys(): Promise<RegistryKey[]> {
    this.keys ??= this.json<unknown>(new URL('-/npm/v1/keys', this.registry).href).then((doc) => registryKeysOf(doc, this.registry));
    return this.keys;
  }

  /** The registry's own host (any port), or one `bundleHosts` names (by host, or host and port). */
  private readonly documentHost = (url: URL): boolean =>
    url.hostname === this.registryUrl.hostname || this.bundleHosts.has(url.hostname) || this.bundleHosts.has(url.host);

  private get(
    url: string | URL,
    accept: string,
    limits: { maxBytes: number; timeoutMs?: number; what?: string; allowHost?: (url: URL) => boolean; refusalCode?: SignetErrorCode },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept, 'user-agent': 'signet' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return httpRequest(url, {
      service: `the registry ${this.registryUrl.host}`,
      headers,
      // npm's own rule: credentials go to the registry they were configured for, not to a tarball host elsewhere.
      credentialsOrigin: this.registryUrl.origin,
      // Plain HTTP where the registry itself was configured as http://, and on loopback.
      allowHttp: (hop) => isLoopbackUrl(hop) || (this.registryUrl.protocol === 'http:' && hop.host === this.registryUrl.host),
      namedBy: this.registryUrl,
      timeoutMs: limits.timeoutMs ?? this.timeoutMs,
      ...limits,
    });
  }

  private async expectOk(response: Response, what: string): Promise<void> {
    if (response.ok) return;
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 401 || response.status === 403) {
      throw new SignetError({
        code: 'E_PERMISSION',
        message: `${this.registry} refused to serve ${what} (${response.status}): check the registry token`,
      });
    }
    throw new SignetError({ code: 'E_PROVIDER', message: `${this.registry} answered ${response.status} for ${what}` });
  }
}

/*
 * What a registry answers is the registry's word, and a compromised registry's: every field
 * Signet reads is checked for its type before it is used, and a document that is not what npm
 * serves is E_PROVIDER (the registry is broken), never a crash.
 */

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): value is Record<string, string> =>
  isObject(value) && Object.values(value).every((v) => typeof v === 'string');

function malformed(what: string, why: string): SignetError {
  return new SignetError({ code: 'E_PROVIDER', message: `${what} is malformed: ${why}` });
}

/** A package document: a name, an object of versions, string dist-tags and times. */
function packumentOf(value: unknown, what: string): Packument {
  if (!isObject(value)) throw malformed(what, 'not an object');
  if (typeof value.name !== 'string') throw malformed(what, 'no name');
  if (!isObject(value.versions)) throw malformed(what, 'versions is not an object');
  if (value['dist-tags'] !== undefined && !isStrings(value['dist-tags'])) throw malformed(what, 'dist-tags is not a map of versions');
  if (value.time !== undefined && !isStrings(value.time)) throw malformed(what, 'time is not a map of dates');
  return value as unknown as Packument;
}

/** One version's entry of a package document, every field Signet reads of the type npm gives it. */
export function versionEntryOf(value: unknown, what: string): PackageVersion {
  if (!isObject(value)) throw malformed(what, 'not an object');
  if (typeof value.name !== 'string' || typeof value.version !== 'string') throw malformed(what, 'no name or version');
  const dist = value.dist;
  if (!isObject(dist) || typeof dist.tarball !== 'string') throw malformed(what, 'no dist.tarball');
  if (dist.integrity !== undefined && typeof dist.integrity !== 'string') throw malformed(what, 'dist.integrity is not a string');
  const signatures = dist.signatures;
  if (
    signatures !== undefined &&
    !(Array.isArray(signatures) && signatures.every((s) => isObject(s) && typeof s.keyid === 'string' && typeof s.sig === 'string'))
  ) {
    throw malformed(what, 'dist.signatures is not a list of { keyid, sig }');
  }
  if (dist.attestations !== undefined && !(isObject(dist.attestations) && typeof dist.attestations.url === 'string')) {
    throw malformed(what, 'dist.attestations has no url');
  }
  const signet = value.signet;
  if (signet !== undefined && !(isObject(signet) && (signet.bundle === undefined || typeof signet.bundle === 'string'))) {
    throw malformed(what, 'signet.bundle is not a string');
  }
  return value as unknown as PackageVersion;
}

/** `/-/npm/v1/keys`: its keys with a string keyid and key; none when the registry publishes none. */
function registryKeysOf(value: unknown, registry: string): RegistryKey[] {
  if (value === undefined) return [];
  const what = `the keys of ${registry} (-/npm/v1/keys)`;
  if (!isObject(value) || !Array.isArray(value.keys)) throw malformed(what, 'no list of keys');
  return value.keys.map((key, i) => {
    if (!isObject(key) || typeof key.keyid !== 'string' || typeof key.key !== 'string')
      throw malformed(what, `keys[${i}] has no keyid or key`);
    if (key.expires !== undefined && key.expires !== null && typeof key.expires !== 'string')
      throw malformed(what, `keys[${i}].expires is not a date`);
    return key as unknown as RegistryKey;
  });
}
