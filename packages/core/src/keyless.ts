import crypto, { type KeyObject } from 'node:crypto';
import { SignetError } from './errors';
import { httpRequest, isLoopbackUrl, readJson } from './http';
import { signDigest } from './prehash';
import type { KeyProvider, ProviderOptions } from './provider';
import { publicKeyPem } from './public-key';
import type { Signer } from './signer';
import { type SigstoreServices, sigstoreFailure } from './sigstore-services';
import { overFulcio } from './sigstore-transport';

/** The public-good Fulcio, used when neither a URL nor a signing config names another. */
export const PUBLIC_GOOD_FULCIO_URL = 'https://fulcio.sigstore.dev';

/** Where an OIDC identity token comes from (the shape @sigstore/sign's FulcioSigner asks for). */
export interface IdentityProvider {
  getToken: () => Promise<string>;
}

export interface KeylessOptions extends ProviderOptions {
  /** An OIDC identity token, as `--identity-token` gives it. */
  identityToken?: string;
  /** Where the CA is: a private Fulcio, or the stack a signing config names. */
  services?: SigstoreServices;
}

/**
 * Keyless signing: an ephemeral P-256 key made in memory (it never touches disk), and a
 * Fulcio certificate binding it to the caller's OIDC identity, fetched once per signer
 * and renewed only if it is about to expire. @sigstore/sign's FulcioSigner does the
 * Fulcio exchange (proof of possession over the token's subject); the key is ours.
 */
export class KeylessSigner implements Signer {
  readonly keyId = 'keyless';
  readonly algorithm = 'ecdsa-p256-sha256' as const;
  private readonly privateKey: KeyObject;
  private readonly publicPem: string;
  private issued?: { pem: Promise<string>; notAfter?: number };

  constructor(
    private readonly identity: IdentityProvider,
    private readonly fulcioURL: string,
    private readonly transport: { timeoutMs: number; retries: number },
  ) {
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicPem = publicKeyPem(pair.publicKey);
  }

  async publicKey(): Promise<string> {
    return this.publicPem;
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    return crypto.sign('sha256', data, this.privateKey);
  }

  async signDigest(digest: Uint8Array): Promise<Buffer> {
    return signDigest(this.privateKey, this.algorithm, digest);
  }

  /** The leaf certificate for this key, from Fulcio. */
  certificate(): Promise<string> {
    // Fulcio certificates live ten minutes; ask again a minute before this one ends.
    if (!this.issued || (this.issued.notAfter !== undefined && this.issued.notAfter - 60_000 < Date.now())) {
      const pem = this.requestCertificate();
      const issued: { pem: Promise<string>; notAfter?: number } = { pem };
      this.issued = issued;
      pem.then(
        (certificate) => {
          issued.notAfter = Date.parse(new crypto.X509Certificate(certificate).validTo);
        },
        () => {
          if (this.issued === issued) this.issued = undefined;
        },
      );
    }
    return this.issued.pem;
  }

  private async requestCertificate(): Promise<string> {
    const { FulcioSigner } = require('@sigstore/sign') as typeof import('@sigstore/sign');
    const keyHolder = {
      sign: async (data: Buffer) => ({
        signature: crypto.sign('sha256', data, this.privateKey),
        key: { $case: 'publicKey' as const, publicKey: this.publicPem },
      }),
    };
    const fulcio = overFulcio(
      new FulcioSigner({ fulcioBaseURL: this.fulcioURL, identityProvider: this.identity, keyHolder }),
      this.fulcioURL,
      this.transport,
    );
    try {
      // FulcioSigner signs what it is given after fetching the certificate; only the
      // certificate is wanted here, so it signs nothing of consequence.
      const { key } = await fulcio.sign(Buffer.alloc(0));
      if (key.$case !== 'x509Certificate') throw new Error('Fulcio returned no certificate');
      return key.certificate;
    } catch (cause) {
      throw sigstoreFailure(cause, { fulcio: this.fulcioURL });
    }
  }
}

/** Where identity tokens come from, in the order users expect. */
export const IDENTITY_TOKEN_SOURCES =
  '--identity-token, SIGSTORE_ID_TOKEN (GitLab CI: id_tokens with aud "sigstore"), or GitHub Actions with permissions "id-token: write" (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN)';

/**
 * The identity token: given explicitly, or from the CI environment (SIGSTORE_ID_TOKEN, as
 * GitLab provides it; GitHub Actions' token endpoint, audience "sigstore"). The token is
 * never echoed, in messages or in causes.
 */
export function identityProvider(options: KeylessOptions): IdentityProvider {
  if (options.identityToken) {
    const token = options.identityToken;
    return { getToken: async () => token };
  }
  const env = options.env ?? process.env;
  if (env.SIGSTORE_ID_TOKEN) {
    const token = env.SIGSTORE_ID_TOKEN;
    return { getToken: async () => token };
  }
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    return githubActionsProvider(env.ACTIONS_ID_TOKEN_REQUEST_URL, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
  }
  throw new SignetError({
    code: 'E_INPUT',
    message: `keyless signing needs an OIDC identity token and none was found: use ${IDENTITY_TOKEN_SOURCES}`,
  });
}

/**
 * GitHub Actions' OIDC token endpoint, asked for the `sigstore` audience, through httpRequest:
 * the runner's request token goes to the endpoint's own origin only (never along a redirect
 * elsewhere), over HTTPS, within 30 s and 64 KiB.
 */
function githubActionsProvider(requestURL: string, requestToken: string): IdentityProvider {
  const service = "GitHub Actions' OIDC token endpoint";
  return {
    async getToken() {
      let url: URL;
      try {
        url = new URL(requestURL);
      } catch {
        throw new SignetError({ code: 'E_INPUT', message: 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL' });
      }
      url.searchParams.set('audience', 'sigstore');
      let response: Response;
      try {
        response = await httpRequest(url, {
          service,
          headers: { accept: 'application/json', authorization: `Bearer ${requestToken}` },
          allowHttp: isLoopbackUrl,
          timeoutMs: 30_000,
          maxBytes: 64 * 1024,
        });
      } catch (cause) {
        throw new SignetError({
          code: (cause as SignetError).code ?? 'E_PROVIDER',
          message: `${(cause as Error).message}; check the job has "permissions: id-token: write"`,
        });
      }
      if (response.status >= 500) {
        await response.body?.cancel().catch(() => undefined);
        throw new SignetError({
          code: 'E_PROVIDER',
          message: `${service} failed (HTTP ${response.status}); re-run the job`,
        });
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new SignetError({
          code: 'E_PERMISSION',
          message: `GitHub Actions refused an OIDC token (HTTP ${response.status}); give the job "permissions: id-token: write"`,
        });
      }
      const body = (await readJson(response, `the answer of ${service}`)) as { value?: unknown } | null;
      if (typeof body?.value !== 'string') {
        throw new SignetError({ code: 'E_PROVIDER', message: `${service} answered without a token` });
      }
      return body.value;
    },
  };
}

/** `keyless`: an ephemeral key and a Fulcio certificate for the caller's identity. */
export const keylessProvider: KeyProvider = {
  scheme: 'keyless',
  async open(_ref, options: KeylessOptions = {}) {
    const services = options.services ?? {};
    return new KeylessSigner(identityProvider(options), services.fulcioURL ?? PUBLIC_GOOD_FULCIO_URL, {
      timeoutMs: services.timeoutMs ?? 15_000,
      retries: services.retries ?? 3,
    });
  },
};
