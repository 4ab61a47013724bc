import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { fulcioHandler } from '@sigstore/mock/dist/fulcio';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { Fault } from '../faults';
import type { EmulatorRequest, EmulatorResponse } from '../http-emulator';
import { CertificateAuthority, type Identity, x509Crypto } from './ca';
import { toPem } from './pem';
import { SigstoreService } from './service';

/*
 * Fulcio's v2 REST API: `POST /api/v2/signingCert` (an OIDC token and a public key with its
 * proof of possession, or a CSR, in; a certificate chain with an embedded SCT out) and
 * `GET /api/v2/trustBundle`. As the real Fulcio does, it accepts tokens only from the issuers
 * it trusts, checks each token's signature against the issuer's keys (found through the
 * issuer's discovery document), its audience (`sigstore`) and its expiry, refuses with 401
 * otherwise, and certifies the identity the verified token names.
 *
 * Operations, for the log and for targeted faults: CreateSigningCertificate, GetTrustBundle, Unknown.
 * The log never holds the OIDC token: it is redacted from the logged request body.
 */

const AUDIENCE = 'sigstore';
const INVALID_TOKEN = 'There was an error processing the identity token';
const INVALID_SIGNATURE = 'The signature supplied in the request could not be verified';
const INVALID_PUBLIC_KEY = 'The public key supplied in the request could not be parsed';
/** gRPC status codes, which Fulcio's gateway puts in its error bodies. */
const GRPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 503: 14 };

export interface FulcioEmulatorOptions {
  /** URLs of the OIDC issuers whose tokens it accepts (more with trustIssuer()). */
  issuers?: string[];
}

interface SigningCertificateRequest {
  credentials?: { oidcIdentityToken?: string };
  publicKeyRequest?: { publicKey?: { content?: string }; proofOfPossession?: string };
  certificateSigningRequest?: string;
}

class FulcioError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class FulcioEmulator extends SigstoreService {
  readonly service = 'Fulcio';
  /** Trusted issuers and, once discovered, their keys. */
  private readonly issuers = new Map<string, JWTVerifyGetKey | undefined>();
  private authority?: CertificateAuthority;

  constructor(options: FulcioEmulatorOptions = {}) {
    super();
    for (const issuer of options.issuers ?? []) this.trustIssuer(issuer);
  }

  /**
   * Accepts tokens from this issuer from now on: its keys found through its discovery document,
   * or the key set given, for an issuer that cannot be reached from here (GitHub Actions' own,
   * standing in for tokens minted by the stack's issuer with `issuer` set to it).
   */
  trustIssuer(issuerUrl: string, jwks?: JSONWebKeySet): this {
    if (jwks) this.issuers.set(issuerUrl, createLocalJWKSet(jwks));
    else if (!this.issuers.has(issuerUrl)) this.issuers.set(issuerUrl, undefined);
    return this;
  }

  override async start(port?: number): Promise<string> {
    this.authority ??= await CertificateAuthority.create();
    return super.start(port);
  }

  /** The CA and its CT log (available once started). */
  get ca(): CertificateAuthority {
    if (!this.authority) throw new Error('Fulcio emulator is not started');
    return this.authority;
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method === 'POST' && request.path === '/api/v2/signingCert') {
      // The base class logs request.json as it is after the handler ran, or before it runs at
      // all when a fault answers instead; redacting here keeps the token out of every log entry.
      redactToken(request.json);
      return 'CreateSigningCertificate';
    }
    if (request.method === 'GET' && request.path === '/api/v2/trustBundle') return 'GetTrustBundle';
    return 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle') {
      return { ...fulcioError(429, 'rate limit exceeded'), headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) } };
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    return fulcioError(status, fault.kind === 'status' && fault.message ? fault.message : 'injected fault');
  }

  protected async handle(request: EmulatorRequest, operation: string, fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>) {
    if (fault) return fulcioError(500, `the Fulcio emulator has no ${fault.kind} fault`);
    if (operation === 'GetTrustBundle') {
      return { status: 200, body: { chains: [{ certificates: [toPem(this.ca.rootCertificate)] }] } };
    }
    if (operation !== 'CreateSigningCertificate') return fulcioError(404, `no such endpoint: ${request.method} ${request.path}`);
    try {
      return await this.createSigningCertificate(request.rawBody.toString('utf8'));
    } catch (error) {
      if (error instanceof FulcioError) return fulcioError(error.status, error.message);
      throw error;
    }
  }

  private async createSigningCertificate(rawBody: string): Promise<EmulatorResponse> {
    let body: SigningCertificateRequest;
    try {
      body = JSON.parse(rawBody) as SigningCertificateRequest;
    } catch {
      throw new FulcioError(400, 'the request body is not JSON');
    }
    const claims = await this.verifyToken(body.credentials?.oidcIdentityToken);
    const identity = identityOf(claims);
    await checkProofOfPossession(body, challengeSubject(claims));

    // The mock's handler parses the request, turns the (now verified) claims into Fulcio's
    // extensions (issuer, GitHub workflow claims) and formats the chain; the CA behind it
    // certifies the verified identity.
    const ca = this.ca;
    const { fn } = fulcioHandler({
      rootCertificate: ca.mock.rootCertificate,
      issueCertificate: async (request) => {
        const spki = Buffer.from(request.publicKey.buffer, request.publicKey.byteOffset, request.publicKey.byteLength);
        return ca.issue(spki, identity, request.extensions ?? []);
      },
    });
    const result = await fn(rawBody);
    return {
      status: result.statusCode,
      headers: { 'content-type': result.contentType ?? 'text/plain' },
      body:
        typeof result.response === 'string'
          ? result.response
          : Buffer.from(result.response.buffer, result.response.byteOffset, result.response.byteLength),
    };
  }

  private async verifyToken(token: string | undefined): Promise<JWTPayload> {
    if (!token) throw new FulcioError(401, `${INVALID_TOKEN}: no token`);
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw new FulcioError(401, `${INVALID_TOKEN}: not a JWT`);
    }
    if (!issuer || !this.issuers.has(issuer)) throw new FulcioError(401, `${INVALID_TOKEN}: issuer ${issuer} is not trusted`);
    const keys = await this.keysOf(issuer);
    try {
      const { payload } = await jwtVerify(token, keys, { issuer, audience: AUDIENCE });
      return payload;
    } catch (error) {
      if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout)) {
        throw new FulcioError(401, `${INVALID_TOKEN}: ${error.message}`);
      }
      throw new FulcioError(503, `could not fetch the keys of ${issuer}: ${(error as Error).message}`);
    }
  }

  /** The issuer's keys, found as Fulcio finds them: discovery document, then jwks_uri. */
  private async keysOf(issuer: string): Promise<JWTVerifyGetKey> {
    const known = this.issuers.get(issuer);
    if (known) return known;
    let jwksUri: string;
    try {
      const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      jwksUri = ((await response.json()) as { jwks_uri: string }).jwks_uri;
    } catch (error) {
      throw new FulcioError(503, `could not fetch the discovery document of ${issuer}: ${(error as Error).message}`);
    }
    const keys = createRemoteJWKSet(new URL(jwksUri));
    this.issuers.set(issuer, keys);
    return keys;
  }
}

/**
 * The identity Fulcio certifies: a verified email as an email SAN; for GitHub Actions-style
 * tokens the workflow (`https://github.com/` + job_workflow_ref) as a URI SAN; else `sub` as a URI SAN.
 */
function identityOf(claims: JWTPayload): Identity {
  if (typeof claims.email === 'string') {
    if (claims.email_verified !== true) throw new FulcioError(401, `${INVALID_TOKEN}: email ${claims.email} is not verified`);
    return { kind: 'email', value: claims.email };
  }
  if (typeof claims.job_workflow_ref === 'string') return { kind: 'uri', value: `https://github.com/${claims.job_workflow_ref}` };
  if (claims.sub) return { kind: 'uri', value: claims.sub };
  throw new FulcioError(401, `${INVALID_TOKEN}: no subject`);
}

/** What the client signs to prove it holds the key: the email, else the subject (as sigstore-js and cosign do). */
function challengeSubject(claims: JWTPayload): string {
  return typeof claims.email === 'string' ? claims.email : String(claims.sub);
}

async function checkProofOfPossession(body: SigningCertificateRequest, subject: string): Promise<void> {
  if (body.certificateSigningRequest) {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(body.certificateSigningRequest);
    } catch {
      throw new FulcioError(400, INVALID_PUBLIC_KEY);
    }
    if (!(await csr.verify(x509Crypto))) throw new FulcioError(400, INVALID_SIGNATURE);
    return;
  }
  const pem = body.publicKeyRequest?.publicKey?.content;
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey(pem ?? '');
  } catch {
    throw new FulcioError(400, INVALID_PUBLIC_KEY);
  }
  const signature = Buffer.from(body.publicKeyRequest?.proofOfPossession ?? '', 'base64');
  const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  if (!crypto.verify(algorithm, Buffer.from(subject), key, signature)) throw new FulcioError(400, INVALID_SIGNATURE);
}

function redactToken(body: unknown): void {
  const credentials = (body as SigningCertificateRequest | undefined)?.credentials;
  if (credentials && typeof credentials === 'object' && 'oidcIdentityToken' in credentials) credentials.oidcIdentityToken = '[redacted]';
}

/** An error as Fulcio's gRPC gateway answers it. */
function fulcioError(status: number, message: string): EmulatorResponse {
  return { status, body: { code: GRPC_CODES[status] ?? 13, message, details: [] } };
}
