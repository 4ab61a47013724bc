import { displayKeyRef, parseKeyRef, SignetError } from '../src';

describe('parseKeyRef', () => {
  it.each([
    ['file:./signing.key', 'file', './signing.key'],
    ['signing.key', 'file', 'signing.key'],
    ['/abs/path/key.pem', 'file', '/abs/path/key.pem'],
    ['C:\\keys\\signing.key', 'file', 'C:\\keys\\signing.key'],
    ['env:SIGNET_PRIVATE_KEY', 'env', 'SIGNET_PRIVATE_KEY'],
    ['awskms:///alias/release', 'awskms', '/alias/release'],
    ['awskms://localhost:4566/arn:aws:kms:us-east-1:1:key/abc', 'awskms', 'localhost:4566/arn:aws:kms:us-east-1:1:key/abc'],
    ['gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k', 'gcpkms', 'projects/p/locations/l/keyRings/r/cryptoKeys/k'],
    ['azurekms://vault.vault.azure.net/key/1', 'azurekms', 'vault.vault.azure.net/key/1'],
    ['hashivault://release', 'hashivault', 'release'],
    ['pkcs11:token=signet;object=release', 'pkcs11', 'token=signet;object=release'],
    [
      'pkcs11:token=signet;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so',
      'pkcs11',
      'token=signet;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so',
    ],
    ['keyless', 'keyless', ''],
  ])('%s → %s, printed as written (it holds no secret)', (raw, scheme, location) => {
    expect(parseKeyRef(raw)).toEqual({ scheme, location, display: raw });
  });

  it('refuses an empty reference and a scheme with nothing after it', () => {
    expect(() => parseKeyRef('  ')).toThrow(SignetError);
    expect(() => parseKeyRef('awskms://')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });

  it('keeps what the provider needs in location, and only a redacted form in display', () => {
    const ref = parseKeyRef('pkcs11:token=t;object=o?pin-value=1234-PIN');
    expect(ref.location).toBe('token=t;object=o?pin-value=1234-PIN');
    expect(ref.display).toBe('pkcs11:token=t;object=o?pin-value=[redacted]');
    expect(JSON.stringify(ref)).toContain('"display":"pkcs11:token=t;object=o?pin-value=[redacted]"');
    expect(Object.keys(ref)).toEqual(['scheme', 'location', 'display']);
  });

  it('refuses a private key given where its reference belongs, without repeating it', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRET\n-----END PRIVATE KEY-----';
    for (const value of [pem, `env:${pem}`, `file:${pem}`, pem.replace(/\n/g, ' ')]) {
      const error = captured(() => parseKeyRef(value));
      expect(error.code).toBe('E_INPUT');
      expect(error.message).toContain('holds key material');
      expect(error.message).not.toContain('SECRETSECRET');
    }
  });

  it('refuses env: followed by anything but a variable name (the value itself, pasted), without repeating it', () => {
    for (const value of ['env:SIGNET_KEY=hunter2-value', 'env:hunter2 value', 'env:$hunter2']) {
      const error = captured(() => parseKeyRef(value));
      expect(error.code).toBe('E_INPUT');
      expect(error.message).toContain('env: takes the variable');
      expect(error.message).not.toContain('hunter2');
    }
  });
});

describe('displayKeyRef: no secret in any part of any reference', () => {
  const PIN = 'Pin-4711-secret';

  it.each([
    // RFC 7512 puts the PIN in the query; users write it in the path too, in any case and percent-encoded
    [`pkcs11:token=t;object=o?pin-value=${PIN}`, 'pkcs11:token=t;object=o?pin-value=[redacted]'],
    [`pkcs11:token=t;object=o;pin-value=${PIN}`, 'pkcs11:token=t;object=o;pin-value=[redacted]'],
    [`pkcs11:token=t;object=o;PIN-VALUE=${PIN}`, 'pkcs11:token=t;object=o;pin-value=[redacted]'],
    [`pkcs11:token=t;object=o?pin%2Dvalue=${PIN}`, 'pkcs11:token=t;object=o?pin-value=[redacted]'],
    [`pkcs11:token=t;object=o?%70in-value=${PIN}`, 'pkcs11:token=t;object=o?pin-value=[redacted]'],
    [`pkcs11:token=t;object=o?%2570in-value=${PIN}`, 'pkcs11:token=t;object=o?pin-value=[redacted]'],
    [`pkcs11:pin-value=${PIN};token=t;object=o`, 'pkcs11:pin-value=[redacted];token=t;object=o'],
    // pin-source names a file, but users put the PIN itself there
    [`pkcs11:token=t;object=o?pin-source=${PIN}`, 'pkcs11:token=t;object=o?pin-source=[redacted]'],
    // an attribute Signet does not know, a misspelling, an item that is not name=value
    [`pkcs11:token=t;object=o;pin=${PIN}`, 'pkcs11:token=t;object=o;[redacted]=[redacted]'],
    [`pkcs11:token=t;object=o;${PIN}`, 'pkcs11:token=t;object=o;[redacted]'],
    [`pkcs11:token=t;object=o?${PIN}=1`, 'pkcs11:token=t;object=o?[redacted]=[redacted]'],
    // a shown attribute smuggling another in its value
    [`pkcs11:token=t;object=o?module-path=/lib.so?pin-value=${PIN}`, 'pkcs11:token=t;object=o?module-path=[redacted]'],
    [`pkcs11:token=t&pin-value=${PIN};object=o`, 'pkcs11:token=[redacted];object=o'],
    // user information and query parameters in URL-shaped references
    [`awskms://AKIAEXAMPLE:${PIN}@localhost:4566/alias/release`, 'awskms://[redacted]@localhost:4566/alias/release'],
    [`azurekms://user:${PIN}@vault.vault.azure.net/key`, 'azurekms://[redacted]@vault.vault.azure.net/key'],
    [`hashivault://${PIN}@release`, 'hashivault://[redacted]@release'],
    [
      `gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k?access_token=${PIN}`,
      'gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k?access_token=[redacted]',
    ],
    [`awskms:///alias/release#${PIN}`, 'awskms:///alias/release#[redacted]'],
    // a scheme Signet does not know has no grammar to read: nothing after it is shown
    [`alice:${PIN}`, 'alice:[redacted]'],
    [`awskms:user:${PIN}@localhost/alias/x`, 'awskms:[redacted]@localhost/alias/x'],
    // env: names a variable; anything else is likely its value
    [`env:${PIN}`, 'env:[redacted]'],
    // key material where a reference belongs
    [`-----BEGIN PRIVATE KEY-----\n${PIN}\n-----END PRIVATE KEY-----`, '[redacted]'],
    [`MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg${'A'.repeat(40)}${PIN.replace(/-/g, '')}`, '[redacted]'],
  ])('%s → %s', (raw, shown) => {
    expect(displayKeyRef(raw)).toBe(shown);
    expect(displayKeyRef(raw)).not.toContain(PIN);
    // what parses carries the same display; what does not is refused without it
    let display: string;
    try {
      display = parseKeyRef(raw).display;
    } catch (error) {
      display = (error as Error).message;
    }
    expect(display).not.toContain(PIN);
    expect(display).not.toContain(PIN.replace(/-/g, ''));
  });

  it('is idempotent, so redacting a display again changes nothing', () => {
    for (const raw of [`pkcs11:token=t;object=o;pin-value=${PIN};id=%01`, `awskms://u:${PIN}@h:1/alias/a?x=${PIN}`, `env:${PIN}`]) {
      const once = displayKeyRef(raw);
      expect(displayKeyRef(once)).toBe(once);
    }
  });

  it('redacts a token-shaped key name, and the values of secret variables in the environment', () => {
    expect(displayKeyRef('hashivault://hvs.CAESIJx0b2tlbi1sb29rcy1yZWFsLWVub3VnaA')).toBe('hashivault://[redacted]');
    process.env.SIGNET_TEST_VAULT_TOKEN = 'env-held-token-4711';
    try {
      expect(displayKeyRef('hashivault://env-held-token-4711')).toBe('hashivault://[redacted]');
    } finally {
      delete process.env.SIGNET_TEST_VAULT_TOKEN;
    }
  });
});

function captured(run: () => unknown): SignetError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SignetError);
    return error as SignetError;
  }
  throw new Error('did not throw');
}
