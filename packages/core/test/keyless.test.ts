import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveHttp } from '@signet/test-support';
import {
  embeddedTrustedRoot,
  GITHUB_ACTIONS_ISSUER,
  githubWorkflowIdentity,
  LocalSigner,
  loadTrustedRoot,
  openSigner,
  parseSigningConfig,
  signArtifact,
} from '../src';
import { identityProvider } from '../src/keyless';
import { scrubTokens, sigstoreFailure } from '../src/sigstore-services';

const FAKE_JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl';

describe('identity tokens', () => {
  it('come from --identity-token first, then SIGSTORE_ID_TOKEN', async () => {
    expect(await identityProvider({ identityToken: 'explicit', env: { SIGSTORE_ID_TOKEN: 'env' } }).getToken()).toBe('explicit');
    expect(await identityProvider({ env: { SIGSTORE_ID_TOKEN: 'from-gitlab' } }).getToken()).toBe('from-gitlab');
  });

  it('names every source when there is none', () => {
    expect(() => identityProvider({ env: {} })).toThrow(
      expect.objectContaining({
        code: 'E_INPUT',
        message: expect.stringMatching(/--identity-token.*SIGSTORE_ID_TOKEN.*GitLab.*GitHub Actions/),
      }),
    );
  });

  describe('GitHub Actions', () => {
    let server: http.Server;
    let url: string;
    const seen: { audience: string | null; authorization?: string }[] = [];
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        const requestUrl = new URL(req.url ?? '/', 'http://127.0.0.1');
        seen.push({ audience: requestUrl.searchParams.get('audience'), authorization: req.headers.authorization });
        if (req.headers.authorization !== 'Bearer runner-request-token') {
          res.writeHead(403).end('{}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: FAKE_JWT }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token?api-version=2.0`;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('asks the runner for a token with the sigstore audience', async () => {
      const env = { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token' };
      expect(await identityProvider({ env }).getToken()).toBe(FAKE_JWT);
      expect(seen.at(-1)).toEqual({ audience: 'sigstore', authorization: 'Bearer runner-request-token' });
    });

    it('never sends the request token along a redirect to another origin, nor to cloud metadata', async () => {
      const elsewhere = await serveHttp((_request, response) => response.end(JSON.stringify({ value: FAKE_JWT })));
      const redirecting = await serveHttp((request, response) => {
        const to = request.url?.includes('metadata') ? 'http://169.254.169.254/token' : `${elsewhere.url}/token`;
        response.writeHead(307, { location: to }).end();
      });
      try {
        const env = { ACTIONS_ID_TOKEN_REQUEST_URL: `${redirecting.url}/t`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token' };
        await identityProvider({ env }).getToken();
        expect(elsewhere.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
        const toMetadata = { ...env, ACTIONS_ID_TOKEN_REQUEST_URL: `${redirecting.url}/metadata` };
        await expect(identityProvider({ env: toMetadata }).getToken()).rejects.toMatchObject({
          code: 'E_PROVIDER',
          message: expect.stringContaining('link-local or metadata address'),
        });
      } finally {
        await Promise.all([elsewhere.close(), redirecting.close()]);
      }
    });

    it('reports an answer that is not JSON as a provider failure, without echoing it', async () => {
      const html = await serveHttp((_request, response) => response.end('<html>runner s3cret</html>'));
      try {
        const env = { ACTIONS_ID_TOKEN_REQUEST_URL: `${html.url}/t`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token' };
        await expect(identityProvider({ env }).getToken()).rejects.toEqual(
          expect.objectContaining({ code: 'E_PROVIDER', message: "the answer of GitHub Actions' OIDC token endpoint is not JSON" }),
        );
      } finally {
        await html.close();
      }
    });

    it('says what permission is missing when the runner refuses', async () => {
      const env = { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' };
      await expect(identityProvider({ env }).getToken()).rejects.toMatchObject({
        code: 'E_PERMISSION',
        message: expect.stringContaining('id-token: write'),
      });
    });
  });

  it('never travel in errors', () => {
    expect(scrubTokens(`invalid identity token: ${FAKE_JWT}`)).toBe('invalid identity token: [redacted]');
    const error = sigstoreFailure(Object.assign(new Error(`invalid identity token: ${FAKE_JWT}`), { code: 'IDENTITY_TOKEN_PARSE_ERROR' }), {
      fulcio: 'http://127.0.0.1:1',
    });
    expect(error.code).toBe('E_INPUT');
    expect(`${error.message} ${(error.cause as Error).message}`).not.toContain(FAKE_JWT);
  });
});

describe('keyless signing without a witness', () => {
  it('is refused: a certificate is only worth something with a trusted time', async () => {
    const signer = await openSigner('keyless', { identityToken: FAKE_JWT, services: { fulcioURL: 'http://127.0.0.1:9' } });
    expect(signer.keyId).toBe('keyless');
    await expect(signArtifact({ bytes: Buffer.from('x') }, signer, { tlogUpload: false })).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('a SHA-384 message signature cannot go to Rekor, before anything is sent', async () => {
    const signer = new LocalSigner('k', crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    await expect(
      signArtifact({ bytes: Buffer.from('x') }, signer, { tlogUpload: true, services: { rekorURL: 'http://127.0.0.1:9' } }),
    ).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('sha384') });
  });
});

describe('signing configs', () => {
  const config = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [
      { url: 'https://old-fulcio', majorApiVersion: 1, validFor: { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' } },
      { url: 'https://fulcio', majorApiVersion: 1, validFor: { start: '2021-01-01T00:00:00Z' } },
    ],
    rekorTlogUrls: [
      { url: 'https://rekor-v2', majorApiVersion: 2, validFor: { start: '2025-01-01T00:00:00Z' } },
      { url: 'https://rekor', majorApiVersion: 1, validFor: { start: '2021-01-01T00:00:00Z' } },
    ],
    tsaUrls: [{ url: 'https://tsa/api/v1/timestamp', majorApiVersion: 1, validFor: { start: '2024-01-01T00:00:00Z' } }],
  };

  it('picks the services valid now, with the highest API version Signet speaks (see signing-config.test.ts)', () => {
    expect(parseSigningConfig(config)).toEqual({
      fulcioURL: 'https://fulcio',
      rekorLogs: [{ url: 'https://rekor-v2', version: 2 }],
      tsaURLs: ['https://tsa/api/v1/timestamp'],
    });
    expect(parseSigningConfig({ ...config, rekorTlogUrls: [config.rekorTlogUrls[1]] })).toMatchObject({
      rekorLogs: [{ url: 'https://rekor', version: 1 }],
    });
  });

  it('refuses what is not a signing config, or names no CA', () => {
    expect(() => parseSigningConfig({ mediaType: 'application/json' })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    expect(() => parseSigningConfig({ ...config, caUrls: [config.caUrls[0]] })).toThrow(/no Fulcio/);
  });
});

describe('identity shortcuts', () => {
  it('turns --github-repository/--github-ref into the source repository and ref, and an anchored workflow identity', () => {
    const rule = githubWorkflowIdentity('sigstore/sigstore-js', { ref: 'refs/tags/v1.0.0' });
    expect(rule).toMatchObject({
      issuer: GITHUB_ACTIONS_ISSUER,
      sourceRepository: 'https://github.com/sigstore/sigstore-js',
      sourceRepositoryRef: 'refs/tags/v1.0.0',
    });
    const pattern = new RegExp(`^(?:${rule.subjectRegExp})$`);
    expect(pattern.test('https://github.com/sigstore/sigstore-js/.github/workflows/publish.yml@refs/tags/v1.0.0')).toBe(true);
    expect(pattern.test('https://github.com/sigstore/sigstore-jsX/.github/workflows/publish.yml@refs/tags/v1.0.0')).toBe(false);
    expect(pattern.test('https://github.com/sigstoreXsigstore-js/.github/workflows/publish.yml@refs/tags/v1.0.0')).toBe(false);
    expect(pattern.test('https://github.com/other/shared/.github/workflows/release.yml@v1')).toBe(false);
    expect(() => githubWorkflowIdentity('not a repo')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('trusts a reusable workflow defined elsewhere only when its repository is named', () => {
    const rule = githubWorkflowIdentity('my-org/my-app', { workflowRepository: 'my-org/release-workflows' });
    expect(rule.sourceRepository).toBe('https://github.com/my-org/my-app');
    const pattern = new RegExp(`^(?:${rule.subjectRegExp})$`);
    expect(pattern.test('https://github.com/my-org/release-workflows/.github/workflows/npm.yml@refs/tags/v3')).toBe(true);
    expect(pattern.test('https://github.com/my-org/my-app/.github/workflows/npm.yml@refs/tags/v3')).toBe(false);
    expect(() => githubWorkflowIdentity('my-org/my-app', { workflowRepository: 'x' })).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('--github-workflow-repository') }),
    );
  });
});

describe('the public-good trusted root', () => {
  it('is embedded for offline use, with a warning when its TUF root has expired', async () => {
    const warnings: string[] = [];
    const root = await loadTrustedRoot({ offline: true, onWarning: (w) => warnings.push(w) });
    expect(root.certificateAuthorities.some((ca) => ca.uri.includes('fulcio.sigstore.dev'))).toBe(true);
    expect(root.tlogs.some((log) => log.baseUrl.includes('rekor.sigstore.dev'))).toBe(true);
    const seedExpired = warnings.length > 0;
    expect(warnings).toEqual(seedExpired ? [expect.stringMatching(/expired \d{4}-\d{2}-\d{2}/)] : []);
    expect(embeddedTrustedRoot().tlogs).toEqual(root.tlogs);
  });
});
