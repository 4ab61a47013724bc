import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { verifyBundle } from '@signet/test-support';
import { artifactFromArgument, type Policy, readBundle, readTrustedRoot, SignetError } from '../src';

const { vectorsDir } = require('@signet/jest-config/vectors') as { vectorsDir(): string | undefined };

const vectors = vectorsDir();
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

if (!vectors) {
  // Said out loud rather than skipped silently: these vectors live outside the repository.
  console.warn('sigstore-conformance vectors not found (set SIGNET_VECTORS=…/shared/vectors); conformance tests not run');
}
const describeVectors = vectors ? describe : describe.skip;

describeVectors('sigstore-conformance bundle-verify', () => {
  const base = path.join(vectors ?? '', 'sigstore-conformance-assets/bundle-verify');
  const cases = vectors
    ? fs
        .readdirSync(base)
        .filter((name) => fs.statSync(path.join(base, name)).isDirectory())
        .sort()
    : [];

  it('has all 70 cases', () => {
    expect(cases).toHaveLength(70);
  });

  const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim();

  async function runCase(name: string, mode: 'path' | 'digest'): Promise<void> {
    const dir = path.join(base, name);
    const artifactPath = fs.existsSync(path.join(dir, 'artifact')) ? path.join(dir, 'artifact') : path.join(base, '../a.txt');
    const target =
      mode === 'path' ? artifactPath : `sha256:${crypto.createHash('sha256').update(fs.readFileSync(artifactPath)).digest('hex')}`;
    const trustedRootPath = fs.existsSync(path.join(dir, 'trusted_root.json'))
      ? path.join(dir, 'trusted_root.json')
      : path.join(vectors ?? '', 'public-good/trusted_root.json');
    // The conformance protocol verifies whatever was signed: no predicate type is implied.
    const policy: Policy = fs.existsSync(path.join(dir, 'key.pub'))
      ? { keys: [{ publicKey: read(dir, 'key.pub'), name: 'key.pub' }], predicateTypes: 'any' }
      : {
          predicateTypes: 'any',
          identities: [
            {
              subject: fs.existsSync(path.join(dir, 'identity')) ? read(dir, 'identity') : DEFAULT_IDENTITY,
              issuer: fs.existsSync(path.join(dir, 'issuer')) ? read(dir, 'issuer') : DEFAULT_ISSUER,
            },
          ],
        };
    const bundle = await readBundle(path.join(dir, 'bundle.sigstore.json'));
    await verifyBundle(bundle, artifactFromArgument(target), policy, { trustedRoot: await readTrustedRoot(trustedRootPath) });
  }

  for (const name of cases) {
    for (const mode of ['path', 'digest'] as const) {
      const shouldFail = name.endsWith('_fail');
      it(`${name} (${mode}) ${shouldFail ? 'fails' : 'verifies'}`, async () => {
        const outcome = runCase(name, mode);
        if (shouldFail) {
          // Every failure is a clean SignetError, never a TypeError escaping sigstore-js.
          await expect(outcome).rejects.toBeInstanceOf(SignetError);
        } else {
          await expect(outcome).resolves.toBeUndefined();
        }
      });
    }
  }
});
