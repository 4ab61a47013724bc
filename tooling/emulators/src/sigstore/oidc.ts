import crypto, { type KeyObject } from 'node:crypto';
import { exportJwk } from '@signet/core';
import { type JSONWebKeySet, SignJWT } from 'jose';
import type { Fault } from '../faults';
import type { EmulatorRequest, EmulatorResponse } from '../http-emulator';
import { SigstoreService } from './service';

/*
 * An OpenID Connect issuer that signs ID tokens for whoever asks: discovery at
 * `/.well-known/openid-configuration`, its keys at `/jwks`, and a token service at `/token`
 * answering as GitHub Actions' does (`{"value": "<jwt>"}`), so `ACTIONS_ID_TOKEN_REQUEST_URL`
 * can point at it. Tests mint tokens directly with mintToken(), including the bad ones.
 *
 * Operations, for the log and for targeted faults: Discovery, Jwks, Token, Unknown.
 */

export const DEFAULT_EMAIL = 'signer@example.com';
const ALGORITHM = 'ES256';
const HOUR = 3600;

export interface TokenOptions {
  /** An `email` claim (with `email_verified: true`): Fulcio certifies it as an email SAN. */
  email?: string;
  /** The `sub` claim (default: the email). Without an email, Fulcio certifies it as a URI SAN. */
  subject?: string;
  /** The `iss` claim (default: this issuer's URL). Another value is an issuer Fulcio does not trust. */
  issuer?: string;
  /** The `aud` claim (default `sigstore`, which Fulcio requires). */
  audience?: string | string[];
  /** Seconds until `exp` (default 3600); negative for a token that has already expired. */
  expiresIn?: number;
  /** More claims, e.g. GitHub Actions' `job_workflow_ref`, `repository`, `sha`; they override the above. */
  claims?: Record<string, unknown>;
  /** Sign with a key the issuer never published (same key id): a forged token. */
  forged?: boolean;
}

export class OidcIssuerEmulator extends SigstoreService {
  readonly service = 'OIDC issuer';
  private readonly signingKey: KeyObject;
  private readonly foreignKey: KeyObject;
  private readonly publicKey: KeyObject;
  /** The `kid` of the issuer's only key. */
  readonly keyId: string;

  constructor() {
    super();
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.signingKey = pair.privateKey;
    this.publicKey = pair.publicKey;
    this.foreignKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
    this.keyId = crypto.createHash('sha256').update(spki).digest('base64url').slice(0, 16);
  }

  /** The JSON Web Key Set the issuer publishes. */
  get jwks(): JSONWebKeySet {
    return { keys: [{ ...exportJwk(this.publicKey), kty: 'EC', kid: this.keyId, alg: ALGORITHM, use: 'sig' }] };
  }

  /** A signed ID token; by default a valid one for DEFAULT_EMAIL, audience `sigstore`, 1 h. */
  async mintToken(options: TokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? HOUR;
    const email = options.email ?? (options.subject === undefined ? DEFAULT_EMAIL : undefined);
    const claims: Record<string, unknown> = {
      iss: options.issuer ?? this.url,
      sub: options.subject ?? email,
      aud: options.audience ?? 'sigstore',
      // An expired token was also issued in the past, as a real one would have been.
      iat: expiresIn > 0 ? now : now + expiresIn - HOUR,
      exp: now + expiresIn,
      ...(email === undefined ? {} : { email, email_verified: true }),
      ...options.claims,
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, kid: this.keyId, typ: 'JWT' })
      .sign(options.forged ? this.foreignKey : this.signingKey);
  }

  protected operationOf(request: EmulatorRequest): string {
    if (request.method !== 'GET') return 'Unknown';
    if (request.path === '/.well-known/openid-configuration') return 'Discovery';
    if (request.path === '/jwks') return 'Jwks';
    if (request.path === '/token') return 'Token';
    return 'Unknown';
  }

  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle') {
      return {
        status: 429,
        headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) },
        body: { error: 'temporarily_unavailable', error_description: 'too many requests' },
      };
    }
    const status = fault.kind === 'status' ? fault.status : 500;
    const message = fault.kind === 'status' && fault.message ? fault.message : 'injected fault';
    return { status, body: { error: status >= 500 ? 'server_error' : 'invalid_request', error_description: message } };
  }

  protected async handle(request: EmulatorRequest, operation: string, fault?: Extract<Fault, { kind: 'corrupt' | 'custom' }>) {
    if (fault) return oidcError(500, 'server_error', `the OIDC issuer emulator has no ${fault.kind} fault`);
    switch (operation) {
      case 'Discovery':
        return {
          status: 200,
          body: {
            issuer: this.url,
            jwks_uri: `${this.url}/jwks`,
            token_endpoint: `${this.url}/token`,
            response_types_supported: ['id_token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: [ALGORITHM],
            claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'email', 'email_verified'],
          },
        };
      case 'Jwks':
        return { status: 200, body: this.jwks };
      case 'Token':
        return { status: 200, body: { value: await this.mintToken(tokenRequest(request.query)) } };
      default:
        return oidcError(404, 'invalid_request', `no such endpoint: ${request.method} ${request.path}`);
    }
  }
}

/**
 * `/token?audience=…&email=…&sub=…&<claim>=…`: GitHub Actions' token service takes the
 * audience as a parameter; every other parameter becomes a claim of the token.
 */
function tokenRequest(query: URLSearchParams): TokenOptions {
  const claims: Record<string, string> = {};
  for (const [name, value] of query) {
    if (!['audience', 'email', 'sub'].includes(name)) claims[name] = value;
  }
  return {
    audience: query.get('audience') ?? undefined,
    email: query.get('email') ?? undefined,
    subject: query.get('sub') ?? undefined,
    claims,
  };
}

function oidcError(status: number, error: string, description: string): EmulatorResponse {
  return { status, body: { error, error_description: description } };
}
