import type { SignatureAlgorithm } from './algorithms';
import { SignetError } from './errors';
import { redactSecrets } from './redact';
import { overRekor, overTimestampAuthority } from './sigstore-transport';
import type { Witness } from './witness';

/** A Rekor log to record signatures in, and the API it speaks. */
export interface RekorLog {
  url: string;
  /** 1: rekor.sigstore.dev's API; 2: the tile-based log (rekor-tiles). */
  version: 1 | 2;
}

/** The Rekor APIs Signet writes to. */
export const SUPPORTED_REKOR_VERSIONS: readonly (1 | 2)[] = [1, 2];

/** The Sigstore services a signature uses: public-good by default, or a private deployment. */
export interface SigstoreServices {
  fulcioURL?: string;
  /** One Rekor log (with rekorVersion); `rekorLogs` wins when both are given. */
  rekorURL?: string;
  /** Rekor's API: 1 (rekor.sigstore.dev) or 2 (the tile-based log). */
  rekorVersion?: 1 | 2;
  /** Every log to record each signature in, as a signing config's rekorTlogConfig selects them. */
  rekorLogs?: RekorLog[];
  /** One TSA; `tsaURLs` wins when both are given. */
  tsaURL?: string;
  /** Every TSA to timestamp each signature with, as a signing config's tsaConfig selects them. */
  tsaURLs?: string[];
  /** Per request; each service gets bounded retries (5xx, connection errors) within it. Rekor v2 uploads get at least 20 s. */
  timeoutMs?: number;
  retries?: number;
}

export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';

/**
 * Reads a Sigstore signing config (v0.2, or a ClientTrustConfig holding one) and selects its
 * services as sigstore-go and cosign do (see signing-config.ts). A config with no Fulcio valid
 * now is refused.
 */
export async function readSigningConfig(path: string): Promise<SigstoreServices> {
  const { readSigningConfigFile, selectServices } = require('./signing-config') as typeof import('./signing-config');
  return selectServices(await readSigningConfigFile(path), { name: `signing config ${path}`, requireCA: true });
}

export function parseSigningConfig(json: unknown, name = 'the signing config'): SigstoreServices {
  const { parseSigningConfigDocument, selectServices } = require('./signing-config') as typeof import('./signing-config');
  return selectServices(parseSigningConfigDocument(json, name), { name, requireCA: true });
}

/** The logs a signature is recorded in: the selected ones, else the one URL given, else public-good's v1. */
export function rekorLogsOf(services: SigstoreServices): RekorLog[] {
  return services.rekorLogs ?? [{ url: services.rekorURL ?? PUBLIC_GOOD_REKOR_URL, version: services.rekorVersion ?? 1 }];
}

/** The TSAs a signature is timestamped by. */
export function tsaURLsOf(services: SigstoreServices): string[] {
  return services.tsaURLs ?? (services.tsaURL ? [services.tsaURL] : []);
}

/**
 * The witnesses that countersign a bundle: an entry in each Rekor log and/or an RFC 3161
 * timestamp from each TSA. Rekor v1 and the TSAs through @sigstore/sign's witnesses, speaking
 * HTTP through Signet's transport (sigstore-transport.ts) and loaded only when a signature is
 * witnessed; Rekor v2 through Signet's own client (rekor-v2.ts). A Rekor v2 entry has no log
 * time (integratedTime 0, no SET), so it is only made with a timestamp beside it.
 */
export function witnessesFor(
  services: SigstoreServices,
  options: { tlog: boolean; tsa: boolean; algorithm: SignatureAlgorithm },
): Witness[] {
  if (!options.tlog && !options.tsa) return [];
  const transport = { timeoutMs: services.timeoutMs ?? 15_000, retries: services.retries ?? 3 };
  const witnesses: Witness[] = [];
  if (options.tlog) {
    const logs = rekorLogsOf(services);
    if (logs.length === 0) {
      throw new SignetError({
        code: 'E_USAGE',
        message: 'the signing config names no Rekor log to record the signature in; give --rekor-url',
      });
    }
    if (logs.some((log) => log.version === 2) && !options.tsa) {
      throw new SignetError({
        code: 'E_USAGE',
        message:
          'a Rekor v2 entry carries no log time, so the signature needs an RFC 3161 timestamp beside it: give --tsa-url (or a signing config with tsaUrls), or log in Rekor v1 (--rekor-version 1)',
      });
    }
    for (const log of logs) {
      if (log.version === 2) {
        const { RekorV2Witness } = require('./rekor-v2') as typeof import('./rekor-v2');
        witnesses.push(new RekorV2Witness(log.url, options.algorithm, transport));
        continue;
      }
      const { RekorWitness } = require('@sigstore/sign') as typeof import('@sigstore/sign');
      // A retried upload whose first attempt landed answers 409: take the stored entry.
      const rekor = new RekorWitness({ rekorBaseURL: log.url, majorApiVersion: 1, fetchOnConflict: true });
      witnesses.push(overRekor(rekor, log.url, transport));
    }
  }
  if (options.tsa) {
    const tsas = tsaURLsOf(services);
    if (tsas.length === 0)
      throw new SignetError({ code: 'E_USAGE', message: 'a timestamp needs a TSA: give --tsa-url (or a signing config with tsaUrls)' });
    const { TSAWitness } = require('@sigstore/sign') as typeof import('@sigstore/sign');
    for (const url of tsas) witnesses.push(overTimestampAuthority(new TSAWitness({ tsaBaseURL: url }), url, transport));
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
