import crypto from 'node:crypto';
// Deep import: the package's index also loads nock, which would patch Node's http for the whole process.
import { initializeTSA, tsaHandler } from '@sigstore/mock/dist/timestamp';
import type { Fault } from '../faults';
import type { EmulatorRequest, EmulatorResponse } from '../http-emulator';
import { toPem } from './pem';
import { SigstoreService } from './service';

/*
 * An RFC 3161 timestamp authority with sigstore/timestamp-authority's REST API:
 * `POST /api/v1/timestamp` (JSON request, as sigstore-js sends it; answers a DER
 * TimeStampResp) and `GET /api/v1/timestamp/certchain` (PEM). Built on @sigstore/mock's TSA.
 *
 * Operations, for the log and for targeted faults: Timestamp, GetCertChain, Unknown.
 */

type MockTsa = Awaited<ReturnType<typeof initializeTSA>>;

export class TimestampAuthorityEmulator extends SigstoreService {
  readonly service = 'Timestamp Authority';
  private authority?: MockTsa;
  /**
   * The mock stamps the time its clock shows. A real clock with milliseconds gives
   * GeneralizedTimes like `…00.12Z` (DER drops trailing zeros), which sigstore-js refuses
   * to parse (it reads exactly three fractional digits or none); so before each request
   * the clock is set to the current whole second.
   */
  private readonly clock = new Date();

  override async start(port?: number): Promise<string> {
    this.authority ??= await initializeTSA(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), this.clock);
    return super.start(port);
  }

  /** The chain for the trusted root: the signing certificate, then the root (DER). */
  get certificateChain(): Buffer[] {
    if (!this.authority) throw new Error('Timestamp Authority emulator is not started');
    return [bytes(this.authority.intCertificate), bytes(this.authority.rootCertificate)];
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method === 'POST' && request.path === '/api/v1/timestamp') return 'Timestamp';
    if (request.method === 'GET' && request.path === '/api/v1/timestamp/certchain') return 'GetCertChain';
    return 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle') {
      return { ...tsaError(429, 'rate limit exceeded'), headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) } };
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    return tsaError(status, fault.kind === 'status' && fault.message ? fault.message : 'injected fault');
  }

  protected async handle(request: EmulatorRequest, operation: string, fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>) {
    if (fault) return tsaError(500, `the Timestamp Authority emulator has no ${fault.kind} fault`);
    if (operation === 'GetCertChain') {
      return {
        status: 200,
        headers: { 'content-type': 'application/pem-certificate-chain' },
        body: this.certificateChain.map((der) => toPem(der)).join(''),
      };
    }
    if (operation !== 'Timestamp' || !this.authority) return tsaError(404, `no such endpoint: ${request.method} ${request.path}`);
    this.clock.setTime(Math.floor(Date.now() / 1000) * 1000);
    const result = await tsaHandler(this.authority).fn(request.rawBody.toString('utf8'));
    if (typeof result.response === 'string') return tsaError(result.statusCode, result.response);
    return {
      status: result.statusCode,
      headers: { 'content-type': result.contentType ?? 'application/timestamp-reply' },
      body: bytes(result.response),
    };
  }
}

function bytes(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** An error as the timestamp authority answers it. */
function tsaError(status: number, message: string): EmulatorResponse {
  return { status, body: { code: status, message } };
}
