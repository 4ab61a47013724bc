import dns from 'node:dns/promises';
import net from 'node:net';
import { SignetError, type SignetErrorCode } from './errors';

/*
 * Every HTTP request Signet makes goes through httpRequest, so every client (registries, TUF,
 * the Sigstore services, OIDC token endpoints) inherits one set of network rules (DESIGN.md,
 * "Trust rules: Network"): HTTPS unless plain HTTP is explicitly allowed; redirects followed
 * by hand, each hop checked by the same rules as the first URL; credentials only to their own
 * origin; a deadline over the whole exchange and a cap on the bytes read; and errors that name
 * the service, never what it sent.
 */

export interface HttpRequestOptions {
  /** Who is asked, for messages: "the npm registry", "GitHub Actions' OIDC token endpoint". */
  service: string;
  /** What is read, for messages: "the manifest ghcr.io/acme/app:1.0" (default: the service's answer). */
  what?: string;
  method?: string;
  /**
   * Credential headers (authorization, proxy-authorization, cookie) go to `credentialsOrigin`
   * only, and so never follow a redirect to another origin.
   */
  headers?: Record<string, string>;
  /** The one origin credential headers may reach (default: the first URL's). */
  credentialsOrigin?: string;
  body?: Buffer | string | URLSearchParams | ReadableStream<Uint8Array>;
  /** Whether plain HTTP may be used for a URL (default: never). Asked for every hop. */
  allowHttp?: (url: URL) => boolean;
  /** Whether a URL may be requested at all (default: any). Asked for every hop. */
  allowHost?: (url: URL) => boolean;
  /**
   * The URL whose answer named this one (a packument naming a tarball, a registry naming an upload
   * location): the first URL is then held to the rules of a redirect from it.
   */
  namedBy?: URL;
  /** The code of a refusal of where a URL or redirect leads (default E_PROVIDER: the service sent us there). */
  refusalCode?: SignetErrorCode;
  /** One deadline for connecting, every redirect and reading the body (default 30 s). */
  timeoutMs?: number;
  /** The most body bytes read, counted after decompression (default 16 MiB). */
  maxBytes?: number;
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  signal?: AbortSignal;
}

const MiB = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 16 * MiB;
const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([204, 205, 304]);
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * Addresses a redirect from another host must never lead to: loopback, link-local (cloud
 * metadata at 169.254.169.254, AWS's fd00:ec2::254), unspecified, and every IPv6 spelling of
 * an IPv4 address (mapped, compatible, NAT64), which would reach the same places in disguise.
 * Private ranges stay reachable: a registry in a private network may redirect to storage there.
 */
const INTERNAL_ADDRESSES = new net.BlockList();
INTERNAL_ADDRESSES.addSubnet('0.0.0.0', 8, 'ipv4');
INTERNAL_ADDRESSES.addSubnet('127.0.0.0', 8, 'ipv4');
INTERNAL_ADDRESSES.addSubnet('169.254.0.0', 16, 'ipv4');
INTERNAL_ADDRESSES.addAddress('100.100.100.200', 'ipv4');
INTERNAL_ADDRESSES.addSubnet('::', 96, 'ipv6');
INTERNAL_ADDRESSES.addSubnet('::ffff:0:0', 96, 'ipv6');
INTERNAL_ADDRESSES.addSubnet('64:ff9b::', 96, 'ipv6');
INTERNAL_ADDRESSES.addSubnet('fe80::', 10, 'ipv6');
INTERNAL_ADDRESSES.addAddress('fd00:ec2::254', 'ipv6');
const INTERNAL_NAMES = /^(localhost|.+\.localhost|metadata|metadata\.google\.internal|instance-data|instance-data\.ec2\.internal)$/;

/**
 * One HTTP exchange under Signet's network rules. Returns the final response (a standard
 * Response, whatever its status) whose body is capped at `maxBytes` and bound by the deadline:
 * reading past either fails with a SignetError. Refusals and failures are SignetErrors that
 * name the service and the URL (without its query), never the body.
 */
export async function httpRequest(target: string | URL, options: HttpRequestOptions): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let url = parseTarget(target, options);
  checkHop(url, options.namedBy, options, 'named');
  await checkResolved(url, options.namedBy, options, 'named');
  const credentialsOrigin = options.credentialsOrigin ?? url.origin;
  let method = (options.method ?? 'GET').toUpperCase();
  let body = options.body;
  for (let redirects = 0; ; redirects++) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (!CREDENTIAL_HEADERS.has(name.toLowerCase()) || url.origin === credentialsOrigin) headers[name] = value;
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (cause) {
      throw exchangeFailure(cause, url, options, deadline.aborted, timeoutMs);
    }
    const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
    if (location === null) return bounded(response, url, options, deadline, timeoutMs);
    await response.body?.cancel().catch(() => undefined);
    const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    if (redirects >= maxRedirects) {
      throw refusal(options, `${options.service} (${displayUrl(url)}) redirected more than ${maxRedirects} times; refusing to follow`);
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw refusal(options, `${options.service} (${displayUrl(url)}) redirected to something that is not a URL`);
    }
    checkHop(next, url, options, 'redirected to');
    await checkResolved(next, url, options, 'redirected to');
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      // As browsers and curl do: the redirected request is a GET without the body.
      if (method !== 'HEAD') method = 'GET';
      body = undefined;
    } else if (body instanceof ReadableStream) {
      throw refusal(options, `${options.service} (${displayUrl(url)}) redirected an upload that cannot be sent twice`);
    }
    url = next;
  }
}

/** Reads a response as JSON; a body that is not JSON is `code` with a message naming `what`, never echoing it. */
export async function readJson(response: Response, what: string, code: SignetErrorCode = 'E_PROVIDER'): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new SignetError({ code, message: `${what} is not JSON` });
  }
}

/** localhost, 127.0.0.0/8 and [::1]: where plain HTTP is allowed by default (as Docker and npm do). */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}

/** A URL as messages show it: origin and path, without credentials or a query that may hold them. */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
}

function parseTarget(target: string | URL, options: HttpRequestOptions): URL {
  try {
    return new URL(target);
  } catch (cause) {
    throw new SignetError({ code: 'E_INPUT', message: `${options.service}: "${String(target)}" is not a URL`, cause });
  }
}

/** The rules every URL obeys, the first one and each redirect (`from` is the URL that redirected to it or named it). */
function checkHop(url: URL, from: URL | undefined, options: HttpRequestOptions, how: 'named' | 'redirected to'): void {
  const via = from ? `${options.service} (${displayUrl(from)}) ${how} ${displayUrl(url)}` : `${options.service} at ${displayUrl(url)}`;
  if (url.username || url.password) throw refusal(options, `${via}, a URL with credentials in it; refusing to send them`);
  if (from && !sameMachine(from, url) && isInternalHost(url.hostname)) {
    throw refusal(options, `${via}, a loopback, link-local or metadata address; refusing to follow`);
  }
  const plainHttp = url.protocol === 'http:' && (options.allowHttp?.(url) ?? false);
  if (url.protocol !== 'https:' && !plainHttp) {
    throw refusal(
      options,
      url.protocol === 'http:'
        ? `${via} over plain HTTP, which is not allowed for it; HTTPS is required`
        : `${via}, which is not an HTTPS URL`,
    );
  }
  if (options.allowHost && !options.allowHost(url)) {
    throw refusal(options, `${via}, a host it may not use`);
  }
}

/**
 * A host name that another host led to (a redirect, a URL in its answer) is looked up before
 * it is fetched: a name that resolves to a loopback, link-local or metadata address is refused
 * like the address itself. (A name that resolves differently the next moment, DNS rebinding,
 * is beyond a check made before the connection; docs/security.md says so.)
 */
async function checkResolved(url: URL, from: URL | undefined, options: HttpRequestOptions, how: 'named' | 'redirected to'): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!from || sameMachine(from, url) || net.isIP(host) !== 0) return;
  let addresses: { address: string }[];
  try {
    addresses = await dns.lookup(host, { all: true, verbatim: true });
  } catch {
    return; // the fetch reports a name that does not resolve, as for any URL
  }
  const internal = addresses.find(({ address }) => isInternalHost(address));
  if (internal) {
    throw refusal(
      options,
      `${options.service} (${displayUrl(from)}) ${how} ${displayUrl(url)}, whose name resolves to a loopback, link-local or metadata address (${internal.address}); refusing to follow`,
    );
  }
}

/** The same host, or loopback to loopback (127.0.0.1 to localhost); an IPv4-mapped spelling is never the same. */
function sameMachine(from: URL, to: URL): boolean {
  return from.hostname === to.hostname || (isLoopbackUrl(from) && isLoopbackUrl(to));
}

function isInternalHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (INTERNAL_NAMES.test(host)) return true;
  const family = net.isIP(host);
  return family !== 0 && INTERNAL_ADDRESSES.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** A refusal carries no cause: it is what Signet decided, not a failure to retry. */
function refusal(options: HttpRequestOptions, message: string): SignetError {
  return new SignetError({ code: options.refusalCode ?? 'E_PROVIDER', message });
}

/** A failed exchange: the deadline passed, or the connection failed (the raw error stays the cause, for retry decisions). */
function exchangeFailure(cause: unknown, url: URL, options: HttpRequestOptions, timedOut: boolean, timeoutMs: number): SignetError {
  if (cause instanceof SignetError) return cause;
  if (timedOut) {
    return new SignetError({
      code: 'E_PROVIDER',
      message: `${options.service} (${displayUrl(url)}) did not answer within ${seconds(timeoutMs)}`,
      cause,
    });
  }
  const detail = (cause as { cause?: { code?: string; message?: string } })?.cause;
  return new SignetError({
    code: 'E_PROVIDER',
    message: `could not reach ${options.service} at ${url.origin} (${detail?.code ?? detail?.message ?? (cause as Error)?.message ?? 'network error'})`,
    cause,
  });
}

/** The response with its body counted as it is read (after decompression) and cut at the cap or the deadline. */
function bounded(response: Response, url: URL, options: HttpRequestOptions, deadline: AbortSignal, timeoutMs: number): Response {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const what = options.what ?? `the answer of ${options.service} (${displayUrl(url)})`;
  const tooLarge = (size: string) =>
    new SignetError({
      code: 'E_INPUT',
      message: `${what} is ${size}, over the ${formatSize(maxBytes)} Signet reads; refusing to download it`,
    });
  const init = { status: response.status, statusText: response.statusText, headers: response.headers };
  if (!response.body || NULL_BODY_STATUSES.has(response.status)) return new Response(null, init);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const encoding = response.headers.get('content-encoding');
  if (declared > maxBytes && (!encoding || encoding === 'identity')) {
    response.body.cancel().catch(() => undefined);
    throw tooLarge(formatSize(declared));
  }
  const reader = response.body.getReader();
  let total = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        controller.error(exchangeFailure(cause, url, options, deadline.aborted, timeoutMs));
        return;
      }
      if (chunk.done) {
        controller.close();
        return;
      }
      total += chunk.value.byteLength;
      if (total > maxBytes) {
        reader.cancel().catch(() => undefined);
        controller.error(tooLarge(`more than ${formatSize(maxBytes)}`));
        return;
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, init);
}

function formatSize(bytes: number): string {
  return bytes >= MiB ? `${+(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}

function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(1)} s`;
}
