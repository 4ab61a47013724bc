import { parseKeyRef, SignetError } from '../src';

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
    ['keyless', 'keyless', ''],
  ])('%s → %s', (raw, scheme, location) => {
    expect(parseKeyRef(raw)).toEqual({ scheme, location, raw });
  });

  it('refuses an empty reference and a scheme with nothing after it', () => {
    expect(() => parseKeyRef('  ')).toThrow(SignetError);
    expect(() => parseKeyRef('awskms://')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });
});
