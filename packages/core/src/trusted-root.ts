import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { inputError } from './digest';
import { SignetError } from './errors';

export type { TrustedRoot };

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\+json;version=0\.[12]|\.v0\.[12]\+json)$/;

/** A trusted root with nothing in it: verification by public keys only, fully offline. */
export function emptyTrustedRoot(): TrustedRoot {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

export async function readTrustedRoot(path: string): Promise<TrustedRoot> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (cause) {
    throw inputError(path, cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SignetError({ code: 'E_TRUST_ROOT', message: `${path} is not valid JSON`, cause });
  }
  return parseTrustedRoot(json, path);
}

/**
 * Parses a trusted_root.json and refuses what @sigstore/verify would quietly accept:
 * a log, CA or TSA without the start of its validity window would otherwise count
 * as valid since the beginning of time (sigstore-conformance:
 * trust-root-tlog-missing-validity-start_fail).
 */
export function parseTrustedRoot(json: unknown, name = 'the trusted root'): TrustedRoot {
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType)) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: `${name} is not a Sigstore trusted root (mediaType ${JSON.stringify(mediaType)})`,
    });
  }
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (cause) {
    throw new SignetError({ code: 'E_TRUST_ROOT', message: `${name} is malformed`, cause });
  }
  const missing: string[] = [];
  root.tlogs.forEach((log, i) => {
    if (!log.publicKey?.validFor?.start) missing.push(`tlogs[${i}] (${log.baseUrl})`);
  });
  root.ctlogs.forEach((log, i) => {
    if (!log.publicKey?.validFor?.start) missing.push(`ctlogs[${i}] (${log.baseUrl})`);
  });
  root.certificateAuthorities.forEach((ca, i) => {
    if (!ca.validFor?.start) missing.push(`certificateAuthorities[${i}] (${ca.uri})`);
  });
  root.timestampAuthorities.forEach((tsa, i) => {
    if (!tsa.validFor?.start) missing.push(`timestampAuthorities[${i}] (${tsa.uri})`);
  });
  if (missing.length > 0) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: `${name} gives no start of validity for ${missing.join(', ')}; every key in a trusted root needs one`,
    });
  }
  return root;
}

/** The public-good TUF repository, where Sigstore publishes its trusted root. */
export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

export interface LoadTrustedRootOptions {
  /** A trusted_root.json file: a private deployment, or a pinned copy. Used as it is. */
  trustedRootPath?: string;
  /** A TUF repository to fetch trusted_root.json from (default: public-good). */
  tufMirror?: string;
  /** The initial root.json for a TUF repository other than public-good. */
  tufRootPath?: string;
  /** Never fetch the public-good root: use the copy embedded in @sigstore/tuf. */
  offline?: boolean;
  /** Where TUF metadata is cached (default: $XDG_CACHE_HOME/signet/tuf). */
  cacheDir?: string;
  onWarning?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * The trusted root to verify certificates, logs and timestamps with: the file given, else
 * fetched through TUF (public-good by default, refreshed and cached like sigstore-js does),
 * else, offline or when public-good cannot be reached, the copy embedded in the pinned
 * @sigstore/tuf, with a warning when that copy's TUF root has expired.
 */
export async function loadTrustedRoot(options: LoadTrustedRootOptions = {}): Promise<TrustedRoot> {
  if (options.trustedRootPath) return readTrustedRoot(options.trustedRootPath);
  const env = options.env ?? process.env;
  const mirror = options.tufMirror ?? PUBLIC_GOOD_TUF_MIRROR;
  const publicGood = mirror === PUBLIC_GOOD_TUF_MIRROR && !options.tufRootPath;
  if (publicGood && (options.offline || env.SIGNET_OFFLINE === '1')) return embeddedTrustedRoot(options.onWarning);
  const { getTrustedRoot } = require('@sigstore/tuf') as typeof import('@sigstore/tuf');
  const cacheBase = options.cacheDir ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'signet', 'tuf');
  try {
    const root = await getTrustedRoot({
      mirrorURL: mirror,
      rootPath: options.tufRootPath,
      cachePath: path.join(cacheBase, new URL(mirror).host.replace(/[^\w.-]/g, '_')),
      retry: 1,
      timeout: 10_000,
    });
    return parseTrustedRoot(TrustedRoot.toJSON(root), `the trusted root from ${mirror}`);
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    if (!publicGood) {
      // An unreachable mirror is a service failure (exit 3), like Fulcio or Rekor down;
      // metadata that arrives but does not verify is a bad trust root.
      const unreachable = causedByNetwork(cause);
      throw new SignetError({
        code: unreachable ? 'E_PROVIDER' : 'E_TRUST_ROOT',
        message: `could not get trusted_root.json through TUF from ${mirror} (${(cause as Error).message}): ${
          unreachable ? 'check the mirror URL and the network' : 'check --tuf-root is that repository’s root.json'
        }`,
        cause,
      });
    }
    options.onWarning?.(
      `could not refresh the public-good trusted root through TUF (${(cause as Error).message}); using the copy embedded in Signet`,
    );
    return embeddedTrustedRoot(options.onWarning);
  }
}

interface TufSeed {
  'root.json': string;
  targets: Record<string, string>;
}

/** The public-good trusted root shipped inside @sigstore/tuf's seed, for offline verification. */
export function embeddedTrustedRoot(onWarning?: (message: string) => void): TrustedRoot {
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, TufSeed>;
  const seed = seeds[PUBLIC_GOOD_TUF_MIRROR];
  const target = seed?.targets['trusted_root.json'];
  if (!seed || !target) {
    throw new SignetError({ code: 'E_TRUST_ROOT', message: 'the embedded public-good trusted root is missing from @sigstore/tuf' });
  }
  const tufRoot = JSON.parse(Buffer.from(seed['root.json'], 'base64').toString('utf8')) as { signed: { version: number; expires: string } };
  if (Date.parse(tufRoot.signed.expires) < Date.now()) {
    onWarning?.(
      `the embedded public-good trusted root comes from TUF root v${tufRoot.signed.version}, which expired ${tufRoot.signed.expires.slice(0, 10)}: keys Sigstore rotated since are unknown to it. Verify online (without --offline) to refresh it, or pass --trusted-root`,
    );
  }
  return parseTrustedRoot(JSON.parse(Buffer.from(target, 'base64').toString('utf8')), 'the embedded public-good trusted root');
}

/** Whether a TUF failure comes from not reaching the repository (vs metadata that did not verify). */
function causedByNetwork(error: unknown): boolean {
  for (
    let e = error as { code?: unknown; name?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 8;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string' && /^(E[A-Z]+|UND_ERR_)/.test(e.code) && !e.code.startsWith('ERR_')) return true;
    if (e.name === 'DownloadHTTPError' || e.name === 'FetchError') return true;
  }
  return false;
}
