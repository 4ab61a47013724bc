import fs from 'node:fs';
import path from 'node:path';
import { parseTrustedRoot, readTrustedRoot } from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

const root = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [
    {
      baseUrl: 'https://rekor.example',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes:
          'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==',
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: '2021-01-12T11:53:27Z' },
      },
      logId: { keyId: 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=' },
    },
  ],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

describe('trusted roots', () => {
  it('reads a well-formed root', () => {
    expect(parseTrustedRoot(root).tlogs).toHaveLength(1);
  });

  it('refuses a log without the start of its validity (sigstore-js would treat it as valid forever)', () => {
    const broken = structuredClone(root);
    const log = broken.tlogs[0] as (typeof broken.tlogs)[number];
    log.publicKey.validFor = {} as { start: string };
    expect(() => parseTrustedRoot(broken)).toThrow(
      expect.objectContaining({ code: 'E_TRUST_ROOT', message: expect.stringContaining('tlogs[0] (https://rekor.example)') }),
    );
  });

  it('refuses something that is not a trusted root', async () => {
    expect(() => parseTrustedRoot({ mediaType: 'application/json' })).toThrow(expect.objectContaining({ code: 'E_TRUST_ROOT' }));
    const file = path.join(tmp(), 'root.json');
    fs.writeFileSync(file, '{');
    await expect(readTrustedRoot(file)).rejects.toMatchObject({ code: 'E_TRUST_ROOT' });
    await expect(readTrustedRoot(path.join(tmp(), 'missing.json'))).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
