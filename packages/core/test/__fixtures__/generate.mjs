// Writes the committed bundles core/test/verify.test.ts checks, one field changed per check.
// They come from a local Sigstore stack (tooling/emulators) and throwaway keys, so they are
// written once and read forever: `npm run build`, then `node packages/core/test/__fixtures__/generate.mjs`.
// Only public keys, bundles and the stack's trusted root are kept; every private key is discarded.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const core = require('../../dist/index.js');
const { SigstoreStack } = require('../../../../tooling/emulators/dist/sigstore/index.js');

const write = (name, value) =>
  fs.writeFileSync(path.join(here, name), typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
const bundleJson = (bundle) => core.serializeBundle(bundle);

const artifact = Buffer.from('Signet fixture artifact: the bytes every committed bundle is about.\n');
write('artifact.txt', artifact.toString('utf8'));
const sha256 = crypto.createHash('sha256').update(artifact).digest('hex');
const sha512 = crypto.createHash('sha512').update(artifact).digest('hex');

const stack = await new SigstoreStack().start();
try {
  write('trusted_root.json', stack.trustedRoot);
  const services = core.parseSigningConfig(stack.signingConfig);

  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const release = new core.LocalSigner('release', privateKey);
  write('release.pub', core.publicKeyPem(publicKey));

  write('message.key.sigstore.json', bundleJson(await core.signArtifact({ bytes: artifact }, release)));
  // A first entry, so that the logged fixture's inclusion proof has a hash to change.
  await core.signArtifact({ bytes: Buffer.from('padding') }, release, { services: { ...services, tsaURL: undefined }, tlogUpload: true });
  // Logged only: its one trusted time is the log's signed entry timestamp.
  write(
    'message.key.logged.sigstore.json',
    bundleJson(await core.signArtifact({ bytes: artifact }, release, { services: { ...services, tsaURL: undefined }, tlogUpload: true })),
  );
  write(
    'message.key.timestamped.sigstore.json',
    bundleJson(await core.signArtifact({ bytes: artifact }, release, { services: { ...services, rekorURL: undefined }, timestamp: true })),
  );
  const npmRelease = core.createStatement([{ name: 'pkg:npm/%40acme/demo@1.0.0', digest: { sha512 } }], core.NPM_RELEASE_PREDICATE_TYPE, {
    name: '@acme/demo',
    version: '1.0.0',
    integrity: `sha512-${Buffer.from(sha512, 'hex').toString('base64')}`,
  });
  write('dsse.key.npm-release.sigstore.json', bundleJson(await core.signStatement(npmRelease, release)));
  const sbom = core.createStatement([{ name: 'artifact.txt', digest: { sha256 } }], 'https://cyclonedx.org/bom', {
    bomFormat: 'CycloneDX',
  });
  write('dsse.key.sbom.sigstore.json', bundleJson(await core.signStatement(sbom, release)));

  // A GitHub Actions run of my-org/my-app at refs/tags/v1.0.0 through a reusable workflow
  // defined in my-org/release-workflows: the SAN names the latter, the extensions the former.
  const identityToken = await stack.mintToken({
    subject: 'repo:my-org/my-app:ref:refs/tags/v1.0.0',
    claims: {
      job_workflow_ref: 'my-org/release-workflows/.github/workflows/release.yml@refs/heads/main',
      repository: 'my-org/my-app',
      ref: 'refs/tags/v1.0.0',
      workflow_ref: 'my-org/my-app/.github/workflows/ci.yml@refs/tags/v1.0.0',
      event_name: 'push',
      sha: 'c0ffee0000000000000000000000000000000000',
    },
  });
  const keyless = await core.openSigner('keyless', { identityToken, services });
  write('message.keyless.sigstore.json', bundleJson(await core.signArtifact({ bytes: artifact }, keyless, { services })));
  write('oidc-issuer.txt', `${stack.oidc.url}\n`);
} finally {
  await stack.stop();
}
