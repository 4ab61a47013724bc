import { type KeyProvider, PROVIDER_PACKAGES, parseKeyRef, providerFor, registerProvider, type Signer, SignetError } from '../src';

describe('provider registry', () => {
  it('serves file: and env: from core', () => {
    expect(providerFor('file').scheme).toBe('file');
    expect(providerFor('env').scheme).toBe('env');
  });

  it('refuses an unknown scheme, naming the known ones', () => {
    expect(() => providerFor('foo')).toThrow(
      expect.objectContaining({ code: 'E_INPUT', message: expect.stringMatching(/unknown key scheme "foo:".*awskms.*pkcs11/) }),
    );
  });

  it('maps every cosign KMS scheme to its own package', () => {
    expect(PROVIDER_PACKAGES).toEqual({
      awskms: '@signet/kms-aws',
      gcpkms: '@signet/kms-gcp',
      azurekms: '@signet/kms-azure',
      hashivault: '@signet/kms-vault',
      pkcs11: '@signet/pkcs11',
    });
  });

  it('names the package to install when a scheme’s package is missing', () => {
    // A scheme mapped to a package that is certainly not installed.
    (PROVIDER_PACKAGES as Record<string, string>).nosuchkms = '@signet/kms-nosuch';
    try {
      expect(() => providerFor('nosuchkms')).toThrow(
        expect.objectContaining({ code: 'E_PROVIDER_MISSING', message: expect.stringContaining('npm install @signet/kms-nosuch') }),
      );
    } finally {
      delete (PROVIDER_PACKAGES as Record<string, string>).nosuchkms;
    }
  });

  it('uses a registered provider for its scheme', async () => {
    const signer = { keyId: 'test:k' } as Signer;
    const provider: KeyProvider = { scheme: 'testkms', open: async () => signer };
    registerProvider(provider);
    expect(await providerFor('testkms').open(parseKeyRef('testkms://k'))).toBe(signer);
  });
});

describe('SignetError', () => {
  it('is recognised across copies of @signet/core (a bundled CLI, a provider’s own copy)', () => {
    let OtherCopy: typeof SignetError | undefined;
    jest.isolateModules(() => {
      OtherCopy = (require('../src/errors') as typeof import('../src/errors')).SignetError;
    });
    if (!OtherCopy) throw new Error('no second copy loaded');
    expect(OtherCopy).not.toBe(SignetError);
    expect(new OtherCopy({ code: 'E_PROVIDER', message: 'x' })).toBeInstanceOf(SignetError);
    expect(new SignetError({ code: 'E_PROVIDER', message: 'x' })).toBeInstanceOf(OtherCopy);
    expect(new Error('x')).not.toBeInstanceOf(SignetError);
  });
});
