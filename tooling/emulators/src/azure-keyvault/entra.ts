import crypto from 'node:crypto';
import type { EmulatorResponse } from '../http-emulator';

/** The audience Key Vault tokens are issued for (the challenge's `resource`). */
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

/** An access token the emulator issued: who it is for and until when. */
export interface IssuedToken {
  clientId: string;
  tenantId: string;
  resource: string;
  expiresAt: number;
}

/**
 * The part of Microsoft Entra ID (Azure AD) that a service principal meets: the OpenID
 * metadata MSAL reads under the authority host, and the v2.0 token endpoint answering the
 * client-credentials grant with a bearer token for a resource. Errors are Entra's
 * (`invalid_client`, AADSTS codes), never echoing the secret.
 */
export class EntraTokenService {
  private readonly clients = new Map<string, string>();
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(readonly tenantId: string) {}

  /** Registers an application (service principal) and its client secret. */
  addClient(clientId: string, secret: string): void {
    this.clients.set(clientId, secret);
  }

  /** The holder of a bearer token, if the emulator issued it and it has not expired. */
  tokenHolder(token: string): IssuedToken | undefined {
    const issued = this.tokens.get(token);
    return issued && issued.expiresAt > Date.now() ? issued : undefined;
  }

  /** Every access token issued so far, for tests that check none leaks into output. */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Every token issued so far expires now (as if an hour had passed). */
  expireTokens(): void {
    for (const issued of this.tokens.values()) issued.expiresAt = 0;
  }

  openIdConfiguration(authorityHost: string, tenant: string): EmulatorResponse {
    if (tenant !== this.tenantId) return unknownTenant(tenant);
    const base = `${authorityHost}/${tenant}`;
    return {
      status: 200,
      body: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${authorityHost}/${tenant}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${authorityHost}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
        rbac_url: 'https://pas.windows.net',
      },
    };
  }

  /** POST /{tenant}/oauth2/v2.0/token with a form body: the client-credentials grant. */
  token(tenant: string, form: URLSearchParams): EmulatorResponse {
    if (tenant !== this.tenantId) return unknownTenant(tenant);
    if (form.get('grant_type') !== 'client_credentials') {
      return entraError(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.', 70003);
    }
    const clientId = form.get('client_id') ?? '';
    const secret = this.clients.get(clientId);
    if (secret === undefined) {
      return entraError(
        400,
        'unauthorized_client',
        `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
        700016,
      );
    }
    const given = Buffer.from(form.get('client_secret') ?? '');
    const expected = Buffer.from(secret);
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      return entraError(
        401,
        'invalid_client',
        `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        7000215,
      );
    }
    const scope = form.get('scope') ?? '';
    const resource = scope
      .split(' ')
      .find((s) => s.endsWith('/.default'))
      ?.slice(0, -'/.default'.length);
    if (!resource) {
      return entraError(400, 'invalid_scope', `AADSTS1002012: The provided value for scope ${scope} is not valid.`, 1002012);
    }
    const token = `emulated.${crypto.randomBytes(24).toString('base64url')}`;
    const expiresIn = 3599;
    this.tokens.set(token, { clientId, tenantId: tenant, resource, expiresAt: Date.now() + expiresIn * 1000 });
    return { status: 200, body: { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token } };
  }
}

function unknownTenant(tenant: string): EmulatorResponse {
  return entraError(400, 'invalid_tenant', `AADSTS90002: Tenant '${tenant}' not found.`, 90002);
}

function entraError(status: number, error: string, description: string, code: number): EmulatorResponse {
  const traceId = crypto.randomUUID();
  const correlationId = crypto.randomUUID();
  return {
    status,
    body: {
      error,
      error_description: `${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: traceId,
      correlation_id: correlationId,
    },
  };
}
