import { readRegularFile } from './digest';
import { SignetError } from './errors';
import { redactSecrets } from './redact';
import { overRekor, overTimestampAuthority } from './sigstore-transport';
import type { Witness } from './witness';

/** The Sigstore services a signature uses: public-good by default, or a private deployment. */
export interface SigstoreServices {
  fulcioURL?: string;
  rekorURL?: string;
  /** Rekor's API: 1 (rekor.sigstore.dev) or 2 (the tile-based log). */
  rekorVersion?: 1 | 2;
  tsaURL?: string;
  /** Per request; each service gets bounded retries (5xx, connection errors) within it. */
  timeoutMs?: number;
  retries?: number;
}

export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';

const SIGNING_CONFIG_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.signingconfig\.v0\.2\+json$/;

interface ServiceEntry {
  url?: string;
  majorApiVersion?: number;
  validFor?: { start?: string; end?: string };
}

/**
 * Reads a Sigstore signing config (v0.2): which Fulcio, Rekor and TSA to use. From each
 * list it takes a service valid now with the API version Signet speaks (Fulcio v1, Rekor
 * v1 before v2, TSA v1), as sigstore-js and cosign do.
 */
export async function readSigningConfig(path: string): Promise<SigstoreServices> {
  let json: unknown;
  try {
    json = JSON.parse((await readRegularFile(path)).toString('utf8'));
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    throw new SignetError({ code: 'E_INPUT', message: `signing config ${path} is not valid JSON`, cause });
  }
  return parseSigningConfig(json, path);
}

export function parseSigningConfig(json: unknown, name = 'the signing config'): SigstoreServices {
  const config = json as { mediaType?: unknown; caUrls?: ServiceEntry[]; rekorTlogUrls?: ServiceEntry[]; tsaUrls?: ServiceEntry[] };
  if (typeof config?.mediaType !== 'string' || !SIGNING_CONFIG_MEDIA_TYPE.test(config.mediaType)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${name} is not a Sigstore signing config v0.2 (mediaType ${JSON.stringify(config?.mediaType)})`,
    });
  }
  const ca = pick(config.caUrls, [1]);
  if (!ca) throw new SignetError({ code: 'E_INPUT', message: `${name} names no Fulcio (caUrls) valid now` });
  const rekor = pick(config.rekorTlogUrls, [1, 2]);
  const tsa = pick(config.tsaUrls, [1]);
  return {
    fulcioURL: ca.url,
    rekorURL: rekor?.url,
    rekorVersion: rekor?.majorApiVersion === 2 ? 2 : 1,
    tsaURL: tsa?.url,
  };
}

function pick(entries: ServiceEntry[] | undefined, versions: number[]): ServiceEntry | undefined {
  const now = Date.now();
  const valid = (entries ?? []).filter(
    (e) =>
      typeof e.url === 'string' &&
      (!e.validFor?.start || Date.parse(e.validFor.start) <= now) &&
      (!e.validFor?.end || now < Date.parse(e.validFor.end)),
  );
  for (const version of versions) {
    const found = valid.find((e) => (e.majorApiVersion ?? 1) === version);
    if (found) return found;
  }
  return undefined;
}

/**
 * The witnesses that countersign a bundle: a Rekor entry and/or an RFC 3161 timestamp.
 * @sigstore/sign's witnesses, speaking HTTP through Signet's transport (sigstore-transport.ts),
 * loaded only when a signature is witnessed.
 */
export function witnessesFor(services: SigstoreServices, options: { tlog: boolean; tsa: boolean }): Witness[] {
  if (!options.tlog && !options.tsa) return [];
  const { RekorWitness, TSAWitness } = require('@sigstore/sign') as typeof import('@sigstore/sign');
  const transport = { timeoutMs: services.timeoutMs ?? 15_000, retries: services.retries ?? 3 };
  const witnesses: Witness[] = [];
  if (options.tlog) {
    const rekorBaseURL = services.rekorURL ?? PUBLIC_GOOD_REKOR_URL;
    const rekor = new RekorWitness({
      rekorBaseURL,
      majorApiVersion: services.rekorVersion ?? 1,
      // A retried upload whose first attempt landed answers 409: take the stored entry.
      fetchOnConflict: true,
    });
    witnesses.push(overRekor(rekor, rekorBaseURL, transport));
  }
  if (options.tsa) {
    if (!services.tsaURL)
      throw new SignetError({ code: 'E_USAGE', message: 'a timestamp needs a TSA: give --tsa-url (or a signing config with tsaUrls)' });
    witnesses.push(overTimestampAuthority(new TSAWitness({ tsaBaseURL: services.tsaURL }), services.tsaURL, transport));
  }
  return witnesses;
}

/** Removes identity tokens and any other secret a service's answer repeats, before it reaches a message. */
export function scrubTokens(text: string): string {
  return redactSecrets(text);
}

/**
 * A failure from @sigstore/sign's Fulcio, Rekor or TSA clients as a SignetError naming the
 * service and its URL. Its errors can carry the identity token (an unparsable token is
 * echoed in the message), so only scrubbed text travels, and the cause is rebuilt.
 */
export function sigstoreFailure(cause: unknown, urls: { fulcio?: string; rekor?: string; tsa?: string }): SignetError {
  if (cause instanceof SignetError) return cause;
  const code = (cause as { code?: string })?.code;
  const inner = (cause as { cause?: { statusCode?: number; message?: string } })?.cause;
  // Signet's own failure inside @sigstore/sign (the identity token fetch, say) keeps its code.
  if (inner instanceof SignetError) return inner;
  const status = inner?.statusCode;
  const detail = scrubTokens(inner?.message ?? (cause as Error)?.message ?? String(cause));
  const safeCause = new Error(detail);
  switch (code) {
    case 'IDENTITY_TOKEN_PARSE_ERROR':
      return new SignetError({
        code: 'E_INPUT',
        message: 'the identity token is not a JWT; check what was passed as the token',
        cause: safeCause,
      });
    case 'IDENTITY_TOKEN_READ_ERROR':
      return new SignetError({ code: 'E_PERMISSION', message: `no identity token could be obtained (${detail})`, cause: safeCause });
    case 'CA_CREATE_SIGNING_CERTIFICATE_ERROR':
      if (status !== undefined && status >= 400 && status < 500) {
        return new SignetError({
          code: 'E_PERMISSION',
          message: `Fulcio (${urls.fulcio}) refused the identity token (HTTP ${status}): it is expired, for another audience than "sigstore", or from an issuer Fulcio does not trust`,
          cause: safeCause,
        });
      }
      return unavailable('Fulcio', urls.fulcio, detail, safeCause);
    case 'TLOG_CREATE_ENTRY_ERROR':
    case 'TLOG_FETCH_ENTRY_ERROR':
      return unavailable('Rekor', urls.rekor, detail, safeCause);
    case 'TSA_CREATE_TIMESTAMP_ERROR':
      return unavailable('the timestamp authority', urls.tsa, detail, safeCause);
    default:
      return new SignetError({ code: 'E_PROVIDER', message: `signing failed: ${detail}`, cause: safeCause });
  }
}

function unavailable(service: string, url: string | undefined, detail: string, cause: Error): SignetError {
  return new SignetError({
    code: 'E_PROVIDER',
    message: `${service} (${url ?? 'default'}) failed after retries (${detail}); check the URL, the network and the service's status. Nothing was written`,
    cause,
  });
}
