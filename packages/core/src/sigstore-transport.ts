import { setTimeout as sleep } from 'node:timers/promises';
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { CreateEntryRequest } from '@sigstore/protobuf-specs/rekor/v2';
import type { FulcioSigner, RekorWitness, TSAWitness } from '@sigstore/sign';
import { SignetError } from './errors';
import { httpRequest, isLoopbackUrl, readJson } from './http';
import type { TransportOptions } from './witness';

/*
 * @sigstore/sign layers its Sigstore clients as sigstore-js's external/fetch.ts →
 * external/{fulcio,rekor,tsa}.ts → the signer and witnesses. The bottom layer, the clients that
 * speak HTTP, is replaced here by clients on core's httpRequest (redirects re-checked, bounded,
 * no body echoed), so everything above it (entries, proofs of possession, conflicts, bundles)
 * stays @sigstore/sign's own.
 */

export type { TransportOptions } from './witness';

const MAX_ANSWER_BYTES = 1024 * 1024;
const RETRIED_STATUSES = (status: number) => status === 408 || status === 429 || status >= 500;

/** Puts Signet's Rekor clients (v1 and v2) under a RekorWitness. */
export function overRekor(witness: RekorWitness, baseURL: string, options: TransportOptions): RekorWitness {
  const service = new SigstoreService('Rekor', baseURL, options);
  replaceClient(witness, 'tlogV1', 'rekor', {
    createEntry: async (entry: unknown) => rekorEntry(await service.json('/api/v1/log/entries', entry, { conflict: true })),
    getEntry: async (uuid: string) => rekorEntry(await service.json(`/api/v1/log/entries/${encodeURIComponent(uuid)}`)),
  });
  replaceClient(witness, 'tlogV2', 'rekor', {
    createEntry: async (request: CreateEntryRequest) =>
      TransparencyLogEntry.fromJSON(await service.json('/api/v2/log/entries', CreateEntryRequest.toJSON(request))),
  });
  return witness;
}

/** Puts Signet's timestamp client under a TSAWitness. */
export function overTimestampAuthority(witness: TSAWitness, baseURL: string, options: TransportOptions): TSAWitness {
  const service = new SigstoreService('the timestamp authority', baseURL, options);
  // A signing config names the full endpoint; a bare host means the standard path (as @sigstore/sign reads it).
  const endpoint = new URL(baseURL).pathname === '/' ? '/api/v1/timestamp' : '';
  replaceClient(witness, 'tsa', 'tsa', { createTimestamp: (request: unknown) => service.bytes(endpoint, request) });
  return witness;
}

/** Puts Signet's Fulcio client under a FulcioSigner. */
export function overFulcio(signer: FulcioSigner, baseURL: string, options: TransportOptions): FulcioSigner {
  const service = new SigstoreService('Fulcio', baseURL, options);
  replaceClient(signer, 'ca', 'fulcio', {
    createSigningCertificate: (request: unknown) => service.json('/api/v2/signingCert', request, { refusesTokens: true }),
  });
  return signer;
}

/**
 * Swaps the HTTP client @sigstore/sign keeps at owner[layer][field]. If a release of it moves
 * that field, signing stops here rather than going on with a client outside Signet's rules.
 */
function replaceClient(owner: object, layer: string, field: string, client: object): void {
  const holder = (owner as Record<string, unknown>)[layer] as Record<string, unknown> | undefined;
  if (!holder || typeof holder[field] !== 'object' || holder[field] === null) {
    throw new SignetError({
      code: 'E_INTERNAL',
      message: `@sigstore/sign keeps no ${layer}.${field} client any more; Signet cannot hold its requests to its network rules`,
    });
  }
  holder[field] = client;
}

/** Rekor v1 answers { UUID: entry }; @sigstore/sign wants the entry with its uuid. */
function rekorEntry(data: unknown): unknown {
  const entries = Object.entries((data ?? {}) as Record<string, object>);
  if (entries.length !== 1) throw new SignetError({ code: 'E_PROVIDER', message: 'Rekor answered with other than one entry' });
  const [uuid, entry] = entries[0] as [string, object];
  return { ...entry, uuid };
}

/** One Sigstore service over core's httpRequest: bounded answers, retries on 5xx and failed connections. */
export class SigstoreService {
  private readonly base: URL;

  constructor(
    private readonly name: string,
    private readonly baseURL: string,
    private readonly options: TransportOptions,
  ) {
    this.base = new URL(baseURL);
  }

  /** POSTs `body` (or GETs without one) and reads a JSON answer. */
  async json(path: string, body?: unknown, how: { conflict?: boolean; refusesTokens?: boolean } = {}): Promise<unknown> {
    const response = await this.send(path, body, how);
    return readJson(response, `the answer of ${this.name} (${this.baseURL})`);
  }

  async bytes(path: string, body: unknown): Promise<Buffer> {
    return Buffer.from(await (await this.send(path, body, {})).arrayBuffer());
  }

  private async send(path: string, body: unknown, how: { conflict?: boolean; refusesTokens?: boolean }): Promise<Response> {
    const url = `${this.baseURL.replace(/\/+$/, '')}${path}`;
    for (let attempt = 0; ; attempt++) {
      let response: Response | undefined;
      let failure: SignetError | undefined;
      try {
        response = await httpRequest(url, {
          service: this.name,
          method: body === undefined ? 'GET' : 'POST',
          headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          // Plain HTTP only to a service configured as http:// (a private stack), and on loopback.
          allowHttp: (hop) => isLoopbackUrl(hop) || (this.base.protocol === 'http:' && hop.host === this.base.host),
          timeoutMs: this.options.timeoutMs,
          maxBytes: MAX_ANSWER_BYTES,
        });
      } catch (error) {
        // A refusal (a redirect somewhere forbidden) has no cause and is final; a failed exchange may pass.
        if (!(error instanceof SignetError) || error.cause === undefined) throw error;
        failure = error;
      }
      if (response?.ok) return response;
      if (response && !RETRIED_STATUSES(response.status)) throw await this.refused(response, how);
      if (attempt >= this.options.retries) {
        await response?.body?.cancel().catch(() => undefined);
        throw this.unavailable(response ? `HTTP ${response.status}` : (failure as SignetError).message);
      }
      await response?.body?.cancel().catch(() => undefined);
      await sleep(Math.random() * Math.min(5_000, 500 * 2 ** attempt));
    }
  }

  private async refused(response: Response, how: { conflict?: boolean; refusesTokens?: boolean }): Promise<Error> {
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (how.conflict && response.status === 409 && location) {
      // The entry is in the log already (a retried upload that landed): @sigstore/sign fetches it.
      const { HTTPError } = require('@sigstore/sign/dist/external/error') as typeof import('@sigstore/sign/dist/external/error');
      return new HTTPError({ status: 409, message: 'entry already exists', location });
    }
    const index = response.headers.get('x-log-index');
    if (response.status === 409 && index !== null && /^\d{1,20}$/.test(index)) {
      // Rekor v2: an earlier attempt of this very upload landed, and the log serves no entry to fetch back.
      return new SignetError({
        code: 'E_PROVIDER',
        message: `${this.name} (${this.baseURL}) already holds this entry (log index ${index}): an earlier attempt of the upload landed and its answer was lost; sign again. Nothing was written`,
      });
    }
    if (how.refusesTokens && response.status >= 400 && response.status < 500) {
      return new SignetError({
        code: 'E_PERMISSION',
        message: `Fulcio (${this.baseURL}) refused the identity token (HTTP ${response.status}): it is expired, for another audience than "sigstore", or from an issuer Fulcio does not trust`,
      });
    }
    return new SignetError({ code: 'E_PROVIDER', message: `${this.name} (${this.baseURL}) refused the request (HTTP ${response.status})` });
  }

  private unavailable(detail: string): SignetError {
    return new SignetError({
      code: 'E_PROVIDER',
      message: `${this.name} (${this.baseURL}) failed after retries (${detail}); check the URL, the network and the service's status. Nothing was written`,
    });
  }
}
