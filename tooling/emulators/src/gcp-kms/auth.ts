import crypto, { type KeyObject } from 'node:crypto';
import { Code, KmsError } from './status';

/*
 * Who is calling. Google accepts two kinds of bearer token, and so does the emulator:
 * - an access token its token endpoint minted, in exchange for a JWT assertion signed with
 *   a service account's key (the OAuth 2.0 JWT bearer grant), and
 * - a self-signed JWT: what google-auth-library actually sends for a service-account key
 *   with Cloud KMS's client, which sets useJWTAccessWithScope, so it never calls the
 *   token endpoint (and ignores the key file's token_uri anyway).
 * Both are checked against the key the emulator generated for the service account.
 */

/** A service-account key file, as `gcloud iam service-accounts keys create` writes it. */
export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

interface ServiceAccount {
  email: string;
  keyId: string;
  publicKey: KeyObject;
}

const SCOPES = ['https://www.googleapis.com/auth/cloudkms', 'https://www.googleapis.com/auth/cloud-platform'];
const AUDIENCE = 'https://cloudkms.googleapis.com/';
const UNAUTHENTICATED =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
/** Clock skew tolerated on iat/exp, as Google's token checks allow. */
const SKEW_SECONDS = 300;

export class Principals {
  private readonly accounts = new Map<string, ServiceAccount>();
  private readonly tokens = new Map<string, { email: string; expiresAt: number }>();

  /** A new service account and a key for it; `tokenUri` is the emulator's token endpoint. */
  createServiceAccount(email: string, tokenUri: string): ServiceAccountKey {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = crypto.randomBytes(20).toString('hex');
    this.accounts.set(email, { email, keyId, publicKey });
    return {
      type: 'service_account',
      project_id: email.split('@')[1]?.split('.')[0] ?? 'emulator',
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: String(BigInt(`0x${crypto.randomBytes(8).toString('hex')}`)),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
    };
  }

  /** An access token for a known service account, as the token endpoint would mint it. */
  mintAccessToken(email: string, lifetimeSeconds = 3600): string {
    if (!this.accounts.has(email)) throw new Error(`unknown service account ${email}`);
    const token = `ya29.emulator.${crypto.randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { email, expiresAt: Date.now() + lifetimeSeconds * 1000 });
    return token;
  }

  /** The principal an `authorization` header names, or UNAUTHENTICATED. */
  authenticate(header: string | undefined): string {
    const token = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (!token) throw new KmsError(Code.UNAUTHENTICATED, UNAUTHENTICATED);
    const minted = this.tokens.get(token);
    if (minted) {
      if (minted.expiresAt <= Date.now()) throw new KmsError(Code.UNAUTHENTICATED, UNAUTHENTICATED);
      return minted.email;
    }
    const claims = this.verifyJwt(token);
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    const aud = typeof claims.aud === 'string' ? claims.aud : '';
    if (claims.sub !== claims.iss || !(scopes.some((s) => SCOPES.includes(s)) || aud === AUDIENCE)) {
      throw new KmsError(Code.UNAUTHENTICATED, UNAUTHENTICATED);
    }
    return claims.iss as string;
  }

  /**
   * The token endpoint (`POST token_uri`, form-encoded JWT bearer grant): checks the assertion
   * and answers an access token, or an OAuth error body.
   */
  exchange(form: URLSearchParams, tokenUri: string): { status: number; body: unknown } {
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type.' } };
    }
    try {
      const claims = this.verifyJwt(form.get('assertion') ?? '');
      if (claims.aud !== tokenUri || typeof claims.scope !== 'string') throw new Error('audience or scope');
      return { status: 200, body: { access_token: this.mintAccessToken(claims.iss as string), expires_in: 3600, token_type: 'Bearer' } };
    } catch {
      return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
    }
  }

  /** An RS256 JWT signed by a known service account's current key, within its lifetime. */
  private verifyJwt(jwt: string): Record<string, unknown> {
    const parts = jwt.split('.');
    const [header, payload, signature] = parts.map((part) => Buffer.from(part, 'base64url'));
    if (parts.length !== 3 || !header || !payload || !signature) throw new KmsError(Code.UNAUTHENTICATED, UNAUTHENTICATED);
    let head: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      head = JSON.parse(header.toString('utf8'));
      claims = JSON.parse(payload.toString('utf8'));
    } catch {
      throw new KmsError(Code.UNAUTHENTICATED, UNAUTHENTICATED);
    }
    const account = this.accounts.get(String(claims.iss));
    const now = Date.now() / 1000;
    const valid =
      account !== undefined &&
      head.alg === 'RS256' &&
      (head.kid === undefined || head.kid === account.keyId) &&
      crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), account.publicKey, signature) &&
      typeof claims.exp === 'number' &&
      typeof claims.iat === 'number' &&
      claims.exp > now - SKEW_SECONDS &&
      claims.iat < now + SKEW_SECONDS;
    if (!valid) throw new KmsError(Code.UNAUTHENTICATED, UNAUTHENTICATED);
    return claims;
  }
}
