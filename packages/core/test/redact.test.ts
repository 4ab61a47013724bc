import { redactSecrets } from '../src';

describe('redactSecrets: what no message may carry', () => {
  const SECRET = 'Sekrit-0123456789abcdef';

  it.each([
    ['a PKCS#11 PIN in a URI, in any spelling', `with pkcs11:token=t;object=o;pin-value=${SECRET} (reason)`],
    ['… in upper case', `with pkcs11:token=t;object=o?PIN-VALUE=${SECRET}`],
    ['… percent-encoded', `with pkcs11:token=t;object=o?pin%2Dvalue=${SECRET}&module-path=/x.so`],
    ['… with its first letter encoded', `with pkcs11:token=t;object=o?%70in-value=${SECRET}`],
    ['… holding a ";" or a "?"', `with pkcs11:token=t;object=o?pin-value=${SECRET};x?y`],
    ['user information in a URL', `https://user:${SECRET}@registry.example.com/v2/`],
    ['a token in a query string', `GET https://vault.example.com/v1/x?token=${SECRET}&format=json`],
    ['a signed URL', `https://bucket.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Signature=${SECRET}`],
    ['an Authorization header', `request failed; headers: { authorization: 'Bearer ${SECRET}' }`],
    ['a Vault token header', `X-Vault-Token: ${SECRET}`],
    ['a bearer credential', `Bearer ${SECRET}`],
  ])('%s', (_what, text) => {
    const redacted = redactSecrets(text);
    expect(redacted).not.toContain(SECRET);
    expect(redacted).toContain('[redacted]');
  });

  it('a private key, whole, cut off, or folded onto one line', () => {
    const body = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg';
    for (const text of [
      `key: -----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY----- end`,
      `key: -----BEGIN EC PRIVATE KEY----- ${body} -----END EC PRIVATE KEY-----`,
      `key: -----BEGIN ENCRYPTED PRIVATE KEY-----\n${body}`,
    ]) {
      const redacted = redactSecrets(text);
      expect(redacted).not.toContain(body);
      expect(redacted.startsWith('key: [redacted] private key')).toBe(true);
    }
  });

  it('tokens known by their shape: JWTs, Vault, GitHub and npm tokens', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl';
    const vault = 'hvs.CAESIJx0b2tlbi1sb29rcy1yZWFsLWVub3VnaA';
    const github = `ghp_${'a1B2'.repeat(9)}`;
    const npm = `npm_${'Z9y8'.repeat(9)}`;
    const redacted = redactSecrets(`${jwt} ${vault} ${github} ${npm}`);
    for (const token of [jwt, vault, github, npm]) expect(redacted).not.toContain(token);
  });

  it('the values of secret variables in the environment, and the secrets a caller names', () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      VAULT_TOKEN: 'vault-token-value-1',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-value-2',
      AZURE_CLIENT_SECRET: 'azure-secret-value-3',
      SIGNET_PKCS11_PIN: 'pin-value-4',
      SIGNET_PASSWORD: 'passphrase-value-5',
    });
    try {
      const text = 'vault-token-value-1 aws-secret-value-2 azure-secret-value-3 pin-value-4 passphrase-value-5 named-6';
      expect(redactSecrets(text, ['named-6'])).toBe(Array(6).fill('[redacted]').join(' '));
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('leaves ordinary text alone: labels, paths, advice, identities, digests', () => {
    for (const text of [
      'PKCS#11 module /usr/lib/softhsm/libsofthsm2.so refused to open the key with pkcs11:token=signet-test;object=release',
      "give the token's user PIN: set SIGNET_PKCS11_PIN, or add pin-source=FILE to the URI",
      'the PIN is written in the URI as pin-value, where the process list shows it',
      'set SIGNET_PASSWORD (or run on a terminal); SIGNET_PASSWORD="" writes it unencrypted',
      'https://github.com/acme/shop/.github/workflows/release.yml@refs/tags/v1.2.3',
      'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'Basic constraints are missing from the certificate',
      'awskms:///alias/release and hashivault://release/versions/2',
    ]) {
      expect(redactSecrets(text)).toBe(text);
    }
  });
});
