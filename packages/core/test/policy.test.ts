import crypto from 'node:crypto';
import {
  checkIdentityRule,
  GITHUB_ACTIONS_ISSUER,
  type IdentityRule,
  publicKeyPem,
  RELEASE_PREDICATE_TYPES,
  type TrustedKey,
} from '../src';
import { type CertificateIdentity, identityMatches, keyValidAt, resolveKeys } from '../src/policy';

const pem = (pair: crypto.KeyPairKeyObjectResult) => publicKeyPem(pair.publicKey);

describe('resolveKeys', () => {
  it('parses each key once and names it by its name or fingerprint', () => {
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const [named, unnamed] = resolveKeys([{ publicKey: pem(pair), name: 'release' }, { publicKey: pair.publicKey }]);
    expect(named?.name).toBe('release');
    expect(unnamed?.name).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(named?.fingerprint).toBe(unnamed?.fingerprint);
  });

  it.each([
    ['RSA of 512 bits', () => crypto.generateKeyPairSync('rsa', { modulusLength: 512 }), /512 bits, too weak/],
    ['RSA of 1024 bits', () => crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }), /1024 bits, too weak/],
    ['RSA-PSS of 1024 bits', () => crypto.generateKeyPairSync('rsa-pss', { modulusLength: 1024 }), /1024 bits/],
    ['DSA', () => crypto.generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }), /a dsa key/],
    ['ECDSA on secp256k1', () => crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), /secp256k1/],
    ['Ed448', () => crypto.generateKeyPairSync('ed448'), /an ed448 key/],
  ])('refuses %s with E_KEY', (_name, generate, message) => {
    const key: TrustedKey = { publicKey: pem(generate()), name: 'weak.pub' };
    expect(() => resolveKeys([key])).toThrow(expect.objectContaining({ code: 'E_KEY', message: expect.stringMatching(message) }));
  });

  it.each([
    ['RSA of 2048 bits', () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['ECDSA P-384', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['ECDSA P-521', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' })],
    ['Ed25519', () => crypto.generateKeyPairSync('ed25519')],
  ])('accepts %s', (_name, generate) => {
    expect(resolveKeys([{ publicKey: pem(generate()) }])).toHaveLength(1);
  });
});

describe('keyValidAt', () => {
  const [key] = resolveKeys([
    {
      publicKey: pem(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })),
      validFrom: new Date('2025-01-01T00:00:00Z'),
      validUntil: new Date('2026-01-01T00:00:00Z'),
    },
  ]);
  it('is true inside the window, both ends included, and false outside', () => {
    expect(keyValidAt(key as never, new Date('2025-01-01T00:00:00Z'))).toBe(true);
    expect(keyValidAt(key as never, new Date('2026-01-01T00:00:00Z'))).toBe(true);
    expect(keyValidAt(key as never, new Date('2024-12-31T23:59:59Z'))).toBe(false);
    expect(keyValidAt(key as never, new Date('2026-01-01T00:00:01Z'))).toBe(false);
  });
});

describe('identityMatches', () => {
  const signer: CertificateIdentity = {
    subject: 'https://github.com/org/shared/.github/workflows/release.yml@refs/heads/main',
    issuer: GITHUB_ACTIONS_ISSUER,
    extensions: { sourceRepository: 'https://github.com/org/app', sourceRepositoryRef: 'refs/tags/v1.0.0' },
  };
  const rule = (extra: Partial<IdentityRule>): IdentityRule => ({ subject: signer.subject, issuer: GITHUB_ACTIONS_ISSUER, ...extra });

  it('matches exact values, whole-value patterns, and the source repository and ref when the rule names them', () => {
    expect(identityMatches(rule({}), signer)).toBe(true);
    expect(identityMatches({ subjectRegExp: 'https://github\\.com/org/.+', issuerRegExp: 'https://token\\..+' }, signer)).toBe(true);
    expect(identityMatches(rule({ sourceRepository: 'https://github.com/org/app', sourceRepositoryRef: 'refs/tags/v1.0.0' }), signer)).toBe(
      true,
    );
  });

  it('refuses a substring match, another repository that ran it, another ref, and a missing extension', () => {
    expect(identityMatches({ subjectRegExp: 'https://github\\.com/org', issuer: GITHUB_ACTIONS_ISSUER }, signer)).toBe(false);
    expect(identityMatches(rule({ sourceRepository: 'https://github.com/org/shared' }), signer)).toBe(false);
    expect(identityMatches(rule({ sourceRepositoryRef: 'refs/heads/main' }), signer)).toBe(false);
    expect(identityMatches(rule({ sourceRepository: 'https://github.com/org/app' }), { ...signer, extensions: {} })).toBe(false);
    expect(identityMatches(rule({}), { ...signer, issuer: undefined })).toBe(false);
  });
});

describe('checkIdentityRule', () => {
  it('refuses a rule that would trust any subject or any issuer, or both forms at once', () => {
    for (const rule of [{ issuer: 'x' }, { subject: 'x' }, { subject: 'a', subjectRegExp: 'a', issuer: 'x' }, {}] as IdentityRule[]) {
      expect(() => checkIdentityRule(rule)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    }
    expect(() => checkIdentityRule({ subjectRegExp: '(', issuer: 'x' })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });
});

describe('RELEASE_PREDICATE_TYPES', () => {
  it("are Signet's manifest and npm release and cosign's image signature, and no attestation type", () => {
    expect(RELEASE_PREDICATE_TYPES).toEqual([
      'https://signet.dev/manifest/v1',
      'https://signet.dev/npm-release/v1',
      'https://sigstore.dev/cosign/sign/v1',
    ]);
  });
});
