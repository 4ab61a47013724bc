// A small npm registry for tests: node:http on 127.0.0.1 serving packuments, tarballs,
// `/-/npm/v1/attestations/NAME@VERSION` and `/-/npm/v1/keys` at the paths registry.npmjs.org
// uses. The JSON documents are synthesised from what a test hands it; the bytes (tarballs,
// bundles, signatures) are served exactly as given, so a test decides what is genuine.
// Several registries share one server, each under its own path prefix, so a test can serve a
// release intact in one and tampered with in another without restarting anything.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegistryKey } from '../../src';

export interface FakeRelease {
  name: string;
  version: string;
  /** The bytes served as the tarball. */
  tarball: Uint8Array;
  /** `dist.integrity` (default: the sha512 SRI of `tarball`); another value serves a swapped tarball. */
  integrity?: string;
  /** `dist.signatures`: none unless given. */
  signatures?: { keyid: string; sig: string }[];
  /** The attestations document; `dist.attestations` is set only when given, as npm does. */
  attestations?: { predicateType: string; bundle: unknown }[];
  /** Served as the attestations document instead of `{ attestations }` (and sets `dist.attestations`): a malformed one. */
  attestationsDocument?: unknown;
  /** `time[version]`. */
  published?: string;
  /** The version key the entry is filed under in the packument (default: its own version): a registry lying about what it serves. */
  filedAs?: string;
  /** The package whose packument lists the entry (default: its own name): the same lie about the name. */
  servedAs?: string;
}

export interface FakeRegistry {
  /**
   * Serves RELEASES and KEYS at http://127.0.0.1:PORT/PREFIX/ and returns that URL. `distTags`
   * replace the packuments' dist-tags; `documents` (package name, or `-/npm/v1/keys`, to any
   * JSON value) replace what would be synthesised: a registry serving what it likes.
   */
  add(
    prefix: string,
    contents: {
      releases: FakeRelease[];
      keys: RegistryKey[];
      distTags?: Record<string, Record<string, string>>;
      documents?: Record<string, unknown>;
    },
  ): string;
  close(): Promise<void>;
}

interface Route {
  type: string;
  body: Buffer;
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  // Keyed by the decoded path, so `@scope%2Fname` and `@scope/name` are one packument.
  const routes = new Map<string, Route>();
  const server = http.createServer((request, response) => {
    const route = request.method === 'GET' ? routes.get(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)) : undefined;
    response.writeHead(route ? 200 : 404, { 'content-type': route?.type ?? 'application/json' });
    response.end(route?.body ?? '{"error":"not_found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const json = (value: unknown): Route => ({ type: 'application/json', body: Buffer.from(JSON.stringify(value)) });

  return {
    add(prefix, { releases, keys, distTags, documents }) {
      const base = `/${prefix}/`;
      if ([...routes.keys()].some((path) => path.startsWith(base))) throw new Error(`${prefix} is already served`);
      routes.set(`${base}-/npm/v1/keys`, json({ keys }));
      const packuments = new Map<string, { name: string; 'dist-tags': { latest: string }; versions: object; time: object }>();
      for (const release of releases) {
        const { name, version } = release;
        const tarballPath = `${base}${name}/-/${name.split('/').pop()}-${version}.tgz`;
        const attestationsPath = `${base}-/npm/v1/attestations/${name}@${version}`;
        routes.set(tarballPath, { type: 'application/octet-stream', body: Buffer.from(release.tarball) });
        const document = release.attestationsDocument ?? (release.attestations && { attestations: release.attestations });
        if (document !== undefined) routes.set(attestationsPath, json(document));
        const provenance = release.attestations?.find((a) => a.predicateType.startsWith('https://slsa.dev/provenance/'));
        const dist = {
          tarball: `${origin}${tarballPath}`,
          integrity: release.integrity ?? `sha512-${crypto.createHash('sha512').update(release.tarball).digest('base64')}`,
          shasum: crypto.createHash('sha1').update(release.tarball).digest('hex'),
          ...(release.signatures && { signatures: release.signatures }),
          ...(document !== undefined && {
            // npm writes the scope's slash as %2f here.
            attestations: {
              url: `${origin}${base}-/npm/v1/attestations/${name.replace('/', '%2f')}@${version}`,
              ...(provenance && { provenance: { predicateType: provenance.predicateType } }),
            },
          }),
        };
        const listedIn = release.servedAs ?? name;
        const packument = packuments.get(listedIn) ?? { name: listedIn, 'dist-tags': { latest: version }, versions: {}, time: {} };
        Object.assign(packument.versions, { [release.filedAs ?? version]: { name, version, dist } });
        if (release.published) Object.assign(packument.time, { [version]: release.published });
        packument['dist-tags'].latest = version;
        packuments.set(listedIn, packument);
      }
      for (const [name, packument] of packuments) {
        if (distTags?.[name]) packument['dist-tags'] = distTags[name] as { latest: string };
        routes.set(`${base}${name}`, json(packument));
      }
      for (const [name, document] of Object.entries(documents ?? {})) routes.set(`${base}${name}`, json(document));
      return `${origin}${base}`;
    },
    async close() {
      // fetch keeps connections alive; without this close() waits for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * `/-/npm/v1/keys` from the keys npm publishes through Sigstore's TUF repository
 * (`registry.npmjs.org/keys.json`: keyId, keyUsage, publicKey.rawBytes, validFor), which lists
 * each key once per usage; the registry endpoint lists it once, with its end as `expires`.
 */
export function registryKeysFromTrustedKeys(doc: {
  keys: { keyId: string; publicKey: { rawBytes: string; validFor?: { end?: string } } }[];
}): RegistryKey[] {
  const keys = new Map<string, RegistryKey>();
  for (const { keyId, publicKey } of doc.keys) {
    keys.set(keyId, {
      keyid: keyId,
      keytype: 'ecdsa-sha2-nistp256',
      scheme: 'ecdsa-sha2-nistp256',
      key: publicKey.rawBytes,
      expires: publicKey.validFor?.end ?? null,
    });
  }
  return [...keys.values()];
}
