import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { SignetError } from './errors';
import { displayUrl, httpRequest, isLoopbackUrl } from './http';

export interface TufTargetOptions {
  /** The repository's base URL (metadata at its root, targets under /targets). */
  mirror: string;
  /** The root.json trusted first, when the cache has none yet. */
  initialRoot: Buffer;
  /** Where this repository's metadata and targets are cached. */
  cacheDir: string;
  /** Deadline per file fetched. */
  timeoutMs: number;
}

/** No TUF metadata or Sigstore target comes near this; tuf-js applies its own per-role limits within it. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/**
 * A target of a TUF repository, as @sigstore/tuf fetches trusted_root.json, but on tuf-js's
 * updater directly so that its fetcher is Signet's: every download goes through httpRequest
 * (HTTPS unless loopback, redirects re-checked, bounded in size and time). The updater refreshes
 * root, timestamp, snapshot and targets on every call, refuses expired metadata, and uses the
 * cached target only when it matches the refreshed targets metadata.
 */
export async function fetchTufTarget(name: string, options: TufTargetOptions): Promise<string> {
  // tuf-js (and make-fetch-happen beneath it) load only when a root is fetched through TUF.
  const { BaseFetcher, Updater } = require('tuf-js') as typeof import('tuf-js');
  const errors = require('tuf-js/dist/error') as typeof import('tuf-js/dist/error');
  const { DownloadHTTPError } = errors;
  const service = `the TUF repository ${displayUrl(new URL(options.mirror))}`;

  class SignetFetcher extends BaseFetcher {
    async fetch(url: string): Promise<NodeJS.ReadableStream> {
      const response = await httpRequest(url, {
        service,
        allowHttp: isLoopbackUrl,
        timeoutMs: options.timeoutMs,
        maxBytes: MAX_FILE_BYTES,
      });
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => undefined);
        // The updater reads a 404 for N.root.json as "no newer root", so the status travels as tuf-js expects it.
        throw new DownloadHTTPError(`${service} answered ${response.status} for ${new URL(url).pathname}`, response.status);
      }
      return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    }
  }

  const targetDir = path.join(options.cacheDir, 'targets');
  fs.mkdirSync(targetDir, { recursive: true });
  const cachedRoot = path.join(options.cacheDir, 'root.json');
  if (!fs.existsSync(cachedRoot)) fs.writeFileSync(cachedRoot, options.initialRoot);
  const mirror = options.mirror.replace(/\/+$/, '');
  const updater = new Updater({
    metadataBaseUrl: mirror,
    targetBaseUrl: `${mirror}/targets`,
    metadataDir: options.cacheDir,
    targetDir,
    fetcher: new SignetFetcher(),
  });
  try {
    const info = await updater.getTargetInfo(name);
    if (!info) throw new SignetError({ code: 'E_PROVIDER', message: `${service} lists no ${name}` });
    const file = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
    return fs.readFileSync(file, 'utf8');
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    // Expired metadata is a stale (or frozen) repository, a failed download a failed service:
    // both E_PROVIDER. Metadata that does not verify is a bad trust root.
    const message = (cause as Error)?.message ?? String(cause);
    if (cause instanceof errors.ExpiredMetadataError) {
      throw new SignetError({ code: 'E_PROVIDER', message: `${service} serves expired metadata (${message})`, cause });
    }
    if (cause instanceof errors.DownloadError) throw new SignetError({ code: 'E_PROVIDER', message, cause });
    throw new SignetError({ code: 'E_TRUST_ROOT', message: `${service} serves metadata that does not verify (${message})`, cause });
  }
}
