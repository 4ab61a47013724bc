import { httpRequest, isLoopbackUrl, SignetError } from '@signet/core';

/*
 * Every read of a log or registry: core's httpRequest (HTTPS, except plain HTTP to loopback;
 * redirects re-checked; bounded size and time), retried a few times on a 5xx, a 429 or a
 * dropped connection, then E_PROVIDER naming the service: the run says it could not read it (exit 3).
 */

export interface Fetcher {
  /** Plain HTTP allowed beyond loopback (a test network, a private log); default never. */
  allowHttp?: boolean;
  retries: number;
  /** Before a retry, milliseconds (default a short backoff). */
  delayMs: (attempt: number) => number;
}

export const DEFAULT_FETCHER: Fetcher = { retries: 3, delayMs: (attempt) => 200 * 2 ** attempt };

interface ReadOptions {
  service: string;
  method?: string;
  body?: string;
  /** A 404 is `undefined` rather than an error. */
  notFound?: 'undefined' | 'error';
  maxBytes?: number;
}

async function exchange(fetcher: Fetcher, url: string, options: ReadOptions): Promise<Response | undefined> {
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await httpRequest(url, {
        service: options.service,
        method: options.method,
        body: options.body,
        headers: options.body ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: '*/*' },
        allowHttp: (target) => fetcher.allowHttp === true || isLoopbackUrl(target),
        maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
        timeoutMs: 60_000,
      });
    } catch (error) {
      if (attempt < fetcher.retries && error instanceof SignetError && error.code === 'E_PROVIDER') {
        await sleep(fetcher.delayMs(attempt));
        continue;
      }
      throw error;
    }
    if (response.status === 404 && options.notFound === 'undefined') {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    if (response.ok) return response;
    await response.body?.cancel().catch(() => undefined);
    if ((response.status >= 500 || response.status === 429) && attempt < fetcher.retries) {
      await sleep(fetcher.delayMs(attempt));
      continue;
    }
    throw new SignetError({ code: 'E_PROVIDER', message: `${options.service} answered ${response.status} for ${new URL(url).pathname}` });
  }
}

export async function fetchBytes(fetcher: Fetcher, url: string, options: ReadOptions): Promise<Buffer | undefined> {
  const response = await exchange(fetcher, url, options);
  return response ? Buffer.from(await response.arrayBuffer()) : undefined;
}

export async function fetchJson(fetcher: Fetcher, url: string, options: ReadOptions): Promise<unknown> {
  const response = await exchange(fetcher, url, options);
  if (!response) return undefined;
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `${options.service} answered ${new URL(url).pathname} with something that is not JSON`,
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
