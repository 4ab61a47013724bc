// What registry.npmjs.org adds to what Verdaccio serves: its signing keys (`/-/npm/v1/keys`), a
// registry signature on every version (`dist.signatures`, ECDSA P-256 over
// `NAME@VERSION:INTEGRITY`), and attestations (`/-/npm/v1/attestations/NAME@VERSION`, pointed to
// by `dist.attestations`): npm's publish attestation, signed with the registry's attestation key
// and logged in Rekor, and SLSA provenance, signed keyless through Fulcio and logged in Rekor as
// `npm publish --provenance` does from CI. All made with the local Sigstore stack's services.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { DSSEBundleBuilder, FulcioSigner, RekorWitness } from '@sigstore/sign';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const NPM_PUBLISH_V01 = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';
const INTOTO = 'application/vnd.in-toto+json';

export interface RegistrySigningOptions {
  /** When the registry signing key expires (`expires` in /-/npm/v1/keys; null: never). */
  keyExpires?: string | null;
  /** Where publish attestations and provenance are logged, and who certifies provenance. */
  sigstore?: { rekorURL: string; fulcioURL: string };
  /**
   * The CI identity token (OIDC, as GitHub Actions gives one) that signs NAME@VERSION's provenance
   * when it is published; undefined: no provenance for it. Needs `sigstore`.
   */
  provenanceToken?: (name: string, version: string) => Promise<string | undefined>;
}

export interface RegistryKeyPair {
  /** `SHA256:` and the unpadded base64 SHA-256 of the key's DER SPKI, as npm names its keys. */
  keyid: string;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  /** The public key as /-/npm/v1/keys lists it (base64 DER SPKI). */
  key: string;
}

interface Stored {
  name: string;
  versions: Record<string, { dist?: { integrity?: string; tarball?: string } }>;
}

export function registryKeyPair(): RegistryKeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const keyid = `SHA256:${crypto.createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
  return { keyid, privateKey, publicKey, key: der.toString('base64') };
}

/**
 * The registry's signing side, wrapped around Verdaccio's request handler: answers the keys and
 * attestations endpoints itself, adds signatures and attestation links to every package document
 * Verdaccio serves, and attests each version as it is published (before the publish is answered).
 */
export class RegistrySigning {
  readonly signingKey = registryKeyPair();
  readonly attestationKey = registryKeyPair();
  private readonly attestations = new Map<string, { predicateType: string; bundle: unknown }[]>();
  private readonly times = new Map<string, string>();
  private readonly overrides = new Map<string, unknown>();
  private readonly signatureOverrides = new Map<string, { keyid: string; sig: string }[]>();

  constructor(
    private readonly storage: string,
    private readonly baseUrl: () => string,
    private readonly options: RegistrySigningOptions,
  ) {}

  /** /-/npm/v1/keys: the registry key (signatures) and the attestation key (publish attestations). */
  keysDocument(): unknown {
    const entry = (pair: RegistryKeyPair, expires: string | null) => ({
      expires,
      keyid: pair.keyid,
      keytype: 'ecdsa-sha2-nistp256',
      scheme: 'ecdsa-sha2-nistp256',
      key: pair.key,
    });
    return { keys: [entry(this.signingKey, this.options.keyExpires ?? null), entry(this.attestationKey, null)] };
  }

  /** Serves `document` as NAME@VERSION's attestations from now on (a test's tampering); without one, what it made again. */
  setAttestations(name: string, version: string, document?: unknown): void {
    if (document === undefined) this.overrides.delete(`${name}@${version}`);
    else this.overrides.set(`${name}@${version}`, document);
  }

  /** Serves these as NAME@VERSION's `dist.signatures` from now on (a test's tampering); without them, its own again. */
  setSignatures(name: string, version: string, signatures?: { keyid: string; sig: string }[]): void {
    if (signatures === undefined) this.signatureOverrides.delete(`${name}@${version}`);
    else this.signatureOverrides.set(`${name}@${version}`, signatures);
  }

  /** Serves `time` as NAME@VERSION's publication time in its package document (the registry's `time`). */
  setPublished(name: string, version: string, time: Date): void {
    this.times.set(`${name}@${version}`, time.toISOString());
  }

  /** Handles what Verdaccio does not serve, and wraps what it does; `next` is Verdaccio. */
  handle(req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void): void {
    const url = new URL(req.url ?? '/', 'http://registry');
    const pathname = decodeURIComponent(url.pathname);
    if (req.method === 'GET' && pathname === '/-/npm/v1/keys') {
      json(res, 200, this.keysDocument());
      return;
    }
    if (req.method === 'GET' && pathname.startsWith('/-/npm/v1/attestations/')) {
      const spec = pathname.slice('/-/npm/v1/attestations/'.length);
      const document = this.overrides.has(spec) ? this.overrides.get(spec) : this.attestationsDocument(spec);
      if (document === undefined) json(res, 404, { error: 'not found' });
      else json(res, 200, document);
      return;
    }
    if (req.method === 'PUT' && !pathname.startsWith('/-/') && !pathname.includes('/-rev/')) {
      this.afterPublish(req, res, next);
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && !pathname.startsWith('/-/') && !pathname.includes('/-/')) {
      // Plain JSON, whole, every time: the body is rewritten below.
      delete req.headers['accept-encoding'];
      delete req.headers['if-none-match'];
      delete req.headers['if-modified-since'];
      rewriteJson(res, (body) => this.signDocument(body));
    }
    next(req, res);
  }

  private attestationsDocument(spec: string): unknown {
    const list = this.attestations.get(spec);
    return list ? { attestations: list } : undefined;
  }

  /** A package document (or one version's manifest) with signatures, attestation links and the times set. */
  private signDocument(body: unknown): unknown {
    if (!isObject(body)) return body;
    if (isObject(body.versions) && typeof body.name === 'string') {
      for (const [version, manifest] of Object.entries(body.versions)) this.signManifest(body.name, version, manifest);
      if (isObject(body.time)) {
        for (const version of Object.keys(body.versions)) {
          const time = this.times.get(`${body.name}@${version}`);
          if (time) body.time[version] = time;
        }
      }
    } else if (typeof body.name === 'string' && typeof body.version === 'string') {
      this.signManifest(body.name, body.version, body);
    }
    return body;
  }

  private signManifest(name: string, version: string, manifest: unknown): void {
    if (!isObject(manifest) || !isObject(manifest.dist) || typeof manifest.dist.integrity !== 'string') return;
    const sig = crypto.sign('sha256', Buffer.from(`${name}@${version}:${manifest.dist.integrity}`), this.signingKey.privateKey);
    const spec = `${name}@${version}`;
    manifest.dist.signatures = this.signatureOverrides.get(spec) ?? [{ keyid: this.signingKey.keyid, sig: sig.toString('base64') }];
    const list = this.attestations.get(spec);
    if (list || this.overrides.has(spec)) {
      const provenance = list?.find((a) => a.predicateType === SLSA_PROVENANCE_V1);
      manifest.dist.attestations = {
        url: new URL(`-/npm/v1/attestations/${name.replace('/', '%2f')}@${version}`, this.baseUrl()).href,
        ...(provenance ? { provenance: { predicateType: SLSA_PROVENANCE_V1 } } : {}),
      };
    }
  }

  /** Lets Verdaccio store the publish, then attests each new version before the publish is answered. */
  private afterPublish(req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void): void {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://registry').pathname.slice(1));
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      if (res.statusCode >= 300 || !this.options.sigstore) return end(...args);
      this.attestNew(name).then(
        () => end(...args),
        (error: Error) => {
          res.statusCode = 500;
          res.setHeader('content-type', 'text/plain');
          res.removeHeader('content-length');
          end(`the registry could not attest ${name}: ${error.message}`);
        },
      );
      return res;
    }) as typeof res.end;
    next(req, res);
  }

  /** Makes the attestations of every version of NAME that has none yet. */
  async attestNew(name: string): Promise<void> {
    const file = path.join(this.storage, name, 'package.json');
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Stored;
    for (const [version, manifest] of Object.entries(stored.versions)) {
      const spec = `${name}@${version}`;
      if (this.attestations.has(spec) || !manifest.dist?.integrity) continue;
      const tarball = fs.readFileSync(path.join(this.storage, name, `${name.split('/').pop()}-${version}.tgz`));
      const purl = `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;
      const subject = [{ name: purl, digest: { sha512: crypto.createHash('sha512').update(tarball).digest('hex') } }];
      const list: { predicateType: string; bundle: unknown }[] = [];
      const token = await this.options.provenanceToken?.(name, version);
      if (token) list.push({ predicateType: SLSA_PROVENANCE_V1, bundle: await this.provenance(subject, token) });
      list.push({ predicateType: NPM_PUBLISH_V01, bundle: await this.publishAttestation(subject, name, version) });
      this.attestations.set(spec, list);
    }
  }

  /** npm's publish attestation: the registry's statement that it received this tarball, signed with its attestation key, logged. */
  private async publishAttestation(subject: unknown[], name: string, version: string): Promise<unknown> {
    const { rekorURL } = this.options.sigstore as { rekorURL: string };
    const key = this.attestationKey;
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const builder = new DSSEBundleBuilder({
      signer: {
        sign: async (data: Buffer) => ({
          signature: crypto.sign('sha256', data, key.privateKey),
          key: { $case: 'publicKey', publicKey: pem, hint: key.keyid },
        }),
      },
      witnesses: [new RekorWitness({ rekorBaseURL: rekorURL, entryType: 'intoto', fetchOnConflict: true })],
    });
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject,
      predicateType: NPM_PUBLISH_V01,
      predicate: { name, version, registry: this.baseUrl() },
    };
    return toJson(await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: INTOTO }));
  }

  /** SLSA provenance as npm makes it in CI: keyless (Fulcio, from the CI's token), logged in Rekor. */
  private async provenance(subject: unknown[], identityToken: string): Promise<unknown> {
    const { rekorURL, fulcioURL } = this.options.sigstore as { rekorURL: string; fulcioURL: string };
    const builder = new DSSEBundleBuilder({
      signer: new FulcioSigner({ fulcioBaseURL: fulcioURL, identityProvider: { getToken: async () => identityToken } }),
      witnesses: [new RekorWitness({ rekorBaseURL: rekorURL, entryType: 'dsse' })],
    });
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject,
      predicateType: SLSA_PROVENANCE_V1,
      predicate: {
        buildDefinition: { buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1', externalParameters: {} },
        runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' } },
      },
    };
    return toJson(await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: INTOTO }));
  }
}

function toJson(bundle: unknown): unknown {
  const { bundleToJSON } = require('@sigstore/bundle') as typeof import('@sigstore/bundle');
  return bundleToJSON(bundle as Parameters<typeof bundleToJSON>[0]);
}

type Json = Record<string, unknown> & { dist?: Record<string, unknown> };
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Rewrites a JSON body Verdaccio sends in one res.end (as express's res.send does). */
function rewriteJson(res: ServerResponse, rewrite: (body: unknown) => unknown): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const chunks: Buffer[] = [];
  let finishing = false;
  // Headers wait for the body, whose length changes (Node's own end() writes them, through writeHead).
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    if (finishing) return writeHead(status, ...rest);
    res.statusCode = status;
    const headers = rest.find((arg) => typeof arg === 'object' && arg !== null) as Record<string, string | number> | undefined;
    for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
    return res;
  }) as typeof res.writeHead;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (!isJson(res)) return write(chunk, ...rest);
    chunks.push(Buffer.from(chunk as Buffer | string));
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    finishing = true;
    if (!isJson(res) || res.statusCode !== 200) {
      for (const held of chunks) write(held);
      return end(chunk, ...rest);
    }
    if (chunk !== undefined && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as Buffer | string));
    let text = Buffer.concat(chunks).toString('utf8');
    try {
      text = JSON.stringify(rewrite(JSON.parse(text)));
    } catch {
      // not JSON after all: sent as it came
    }
    res.removeHeader('etag');
    res.removeHeader('content-encoding');
    res.removeHeader('transfer-encoding');
    res.setHeader('content-length', Buffer.byteLength(text));
    finishing = true;
    return end(text);
  }) as typeof res.end;
}

function isJson(res: ServerResponse): boolean {
  return /json/i.test(String(res.getHeader('content-type') ?? ''));
}
