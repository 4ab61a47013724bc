import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { inputError } from './digest';
import { SignetError } from './errors';
import { fetchTufTarget } from './tuf';

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

/** A trusted root in its trusted_root.json form (protobuf-specs' encoding): what parseTrustedRoot reads back, to embed in a build or hand to a worker thread. */
export function serializeTrustedRoot(root: TrustedRoot): unknown {
  return TrustedRoot.toJSON(root);
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
 * Parses a trusted_root.json as protobuf-specs defines it. A log's key (tlogs, ctlogs) may come
 * without `validFor` (optional there: valid without bounds), but a `validFor` without its
 * `start` is refused: @sigstore/verify would quietly count it as valid since the beginning of
 * time (sigstore-conformance: trust-root-tlog-missing-validity-start_fail). A CA's or TSA's
 * `validFor` is, by the spec, at most the time its whole chain is valid; where it is absent or
 * has no start, the chain says when it starts: the latest notBefore of its certificates.
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
    if (log.publicKey?.validFor && !log.publicKey.validFor.start) missing.push(`tlogs[${i}] (${log.baseUrl})`);
  });
  root.ctlogs.forEach((log, i) => {
    if (log.publicKey?.validFor && !log.publicKey.validFor.start) missing.push(`ctlogs[${i}] (${log.baseUrl})`);
  });
  if (missing.length > 0) {
    throw new SignetError({
      code: 'E_TRUST_ROOT',
      message: `${name} gives a validity without a start for ${missing.join(', ')}; a key's validFor needs its start`,
    });
  }
  for (const [i, ca] of root.certificateAuthorities.entries()) startFromChain(ca, `${name}: certificateAuthorities[${i}] (${ca.uri})`);
  for (const [i, tsa] of root.timestampAuthorities.entries()) startFromChain(tsa, `${name}: timestampAuthorities[${i}] (${tsa.uri})`);
  return root;
}

type Authority = TrustedRoot['certificateAuthorities'][number];

/** Gives an authority without a validity start the one its certificate chain has. */
function startFromChain(authority: Authority, where: string): void {
  if (authority.validFor?.start) return;
  const certificates = authority.certChain?.certificates ?? [];
  if (certificates.length === 0) throw new SignetError({ code: 'E_TRUST_ROOT', message: `${where} has no certificates` });
  let start = 0;
  for (const { rawBytes } of certificates) {
    let notBefore: number;
    try {
      notBefore = Date.parse(new X509Certificate(rawBytes).validFrom);
      if (Number.isNaN(notBefore)) throw new Error('no notBefore');
    } catch (cause) {
      throw new SignetError({ code: 'E_TRUST_ROOT', message: `${where} holds a certificate that does not parse`, cause });
    }
    start = Math.max(start, notBefore);
  }
  authority.validFor = { start: new Date(start), end: authority.validFor?.end };
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
  /** That root.json's bytes, for a caller that ships it (the staging repository's, say). */
  tufRoot?: Uint8Array;
  /** Never fetch the public-good root: use the copy embedded in @sigstore/tuf. */
  offline?: boolean;
  /** Where TUF metadata is cached (default: $XDG_CACHE_HOME/signet/tuf). */
  cacheDir?: string;
  onWarning?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * The trusted root to verify certificates, logs and timestamps with: the file given, else
 * fetched through TUF (public-good by default), refreshed and cached as TUF says: a repository
 * that cannot be reached, or whose metadata has expired, fails (E_PROVIDER, exit 3). Only
 * offline (`--offline`, SIGNET_OFFLINE=1) is the copy embedded in the pinned @sigstore/tuf used,
 * with a warning when that copy's TUF root has expired.
 */
export async function loadTrustedRoot(options: LoadTrustedRootOptions = {}): Promise<TrustedRoot> {
  if (options.trustedRootPath) return readTrustedRoot(options.trustedRootPath);
  const env = options.env ?? process.env;
  const mirror = options.tufMirror ?? PUBLIC_GOOD_TUF_MIRROR;
  const publicGood = mirror === PUBLIC_GOOD_TUF_MIRROR && !options.tufRootPath && !options.tufRoot;
  if (publicGood && (options.offline || env.SIGNET_OFFLINE === '1')) return embeddedTrustedRoot(options.onWarning);
  let mirrorUrl: URL;
  try {
    mirrorUrl = new URL(mirror);
  } catch (cause) {
    throw new SignetError({ code: 'E_USAGE', message: `--tuf-mirror ${mirror} is not a URL`, cause });
  }
  const initialRoot = options.tufRoot
    ? Buffer.from(options.tufRoot)
    : options.tufRootPath
      ? await readFile(options.tufRootPath)
      : embeddedTufRoot();
  const cacheBase = options.cacheDir ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'signet', 'tuf');
  let text: string;
  try {
    text = await fetchTufTarget('trusted_root.json', {
      mirror,
      initialRoot,
      cacheDir: path.join(cacheBase, encodeURIComponent(mirrorUrl.host + mirrorUrl.pathname.replace(/\/+$/, ''))),
      timeoutMs: 10_000,
    });
  } catch (cause) {
    throw tufFailure(cause, mirror, publicGood);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SignetError({ code: 'E_TRUST_ROOT', message: `the trusted_root.json served by ${mirror} is not JSON`, cause });
  }
  return parseTrustedRoot(json, `the trusted root from ${mirror}`);
}

/**
 * Why a TUF refresh failed, as one line. A repository that cannot be reached, answers with an
 * error, or serves expired metadata is a failed service (E_PROVIDER, exit 3), like Fulcio or
 * Rekor down. Metadata that does not verify is a bad trust root where the user named the
 * repository (most likely --tuf-root is another repository's), and a failed service for public-good.
 */
export function tufFailure(cause: unknown, mirror: string, publicGood: boolean, target = 'trusted_root.json'): SignetError {
  const failure =
    cause instanceof SignetError
      ? cause
      : new SignetError({ code: 'E_PROVIDER', message: (cause as Error)?.message ?? String(cause), cause });
  const code = failure.code === 'E_TRUST_ROOT' && publicGood ? 'E_PROVIDER' : failure.code;
  const advice = publicGood
    ? target === 'trusted_root.json'
      ? 'check the network, or verify with --offline (SIGNET_OFFLINE=1) to use the copy shipped with Signet, or pass --trusted-root'
      : 'check the network, or pass --signing-config'
    : code === 'E_TRUST_ROOT'
      ? 'check --tuf-root is that repository’s root.json'
      : 'check the mirror URL and the network';
  return new SignetError({
    code,
    message: `could not refresh ${target} through TUF from ${mirror}: ${failure.message}; ${advice}`,
    cause: failure,
  });
}

async function readFile(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (cause) {
    throw inputError(file, cause);
  }
}

interface TufSeed {
  'root.json': string;
  targets: Record<string, string>;
}

function publicGoodSeed(): TufSeed | undefined {
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, TufSeed>;
  return seeds[PUBLIC_GOOD_TUF_MIRROR];
}

/** The public-good TUF root.json shipped with @sigstore/tuf: where trust in the public-good repository starts. */
export function embeddedTufRoot(): Buffer {
  const seed = publicGoodSeed();
  if (!seed) throw new SignetError({ code: 'E_TRUST_ROOT', message: 'the embedded public-good TUF root is missing from @sigstore/tuf' });
  return Buffer.from(seed['root.json'], 'base64');
}

/** The public-good trusted root shipped inside @sigstore/tuf's seed, for offline verification. */
export function embeddedTrustedRoot(onWarning?: (message: string) => void): TrustedRoot {
  const seed = publicGoodSeed();
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
