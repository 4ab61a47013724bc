import { parseKeyRef } from '@signet/core';
import { parseGcpKeyName } from '../src';

const KEY = 'projects/p1/locations/europe-west1/keyRings/release/cryptoKeys/signing';

describe('gcpkms:// key names', () => {
  test('a key, without a version', () => {
    expect(parseGcpKeyName(parseKeyRef(`gcpkms://${KEY}`))).toEqual({
      location: 'projects/p1/locations/europe-west1',
      keyRing: 'projects/p1/locations/europe-west1/keyRings/release',
      keyRingId: 'release',
      cryptoKeyId: 'signing',
      cryptoKey: KEY,
      version: undefined,
    });
  });

  test.each(['cryptoKeyVersions', 'versions'])('a version, written .../%s/N', (segment) => {
    expect(parseGcpKeyName(parseKeyRef(`gcpkms://${KEY}/${segment}/12`)).version).toBe(`${KEY}/cryptoKeyVersions/12`);
  });

  test.each([
    ['no key', 'gcpkms://projects/p1/locations/global/keyRings/release'],
    ['a stray segment', `gcpkms://${KEY}/extra`],
    ['cosign-style triple slash', `gcpkms:///${KEY}`],
    ['a version that is not a number', `gcpkms://${KEY}/cryptoKeyVersions/latest`],
    ['version 0', `gcpkms://${KEY}/cryptoKeyVersions/0`],
  ])('refuses %s with E_INPUT showing the expected form', (_label, raw) => {
    expect(() => parseGcpKeyName(parseKeyRef(raw))).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });
});
