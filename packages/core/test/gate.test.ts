import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { SigstoreStack } from '@signet/emulators/sigstore';
import {
  type Bundle,
  createAttestation,
  type GatePolicy,
  type GateVerdict,
  gate,
  loadGatePolicy,
  loadTrustedRoot,
  openSigner,
  type SigstoreServices,
  signArtifact,
  signDirectory,
  signStatement,
  type TrustedRoot,
  writeBundle,
} from '../src';
import {
  attest,
  CYCLONEDX,
  edwards,
  gateIn,
  npmTarball,
  other,
  policyFrom,
  put,
  release,
  SBOM,
  SPDX,
  SPDX_DOC,
  sign,
  webBuild,
  writePolicy,
  zipBytes,
} from './helpers/gate';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

describe('gate: each kind passes when signed as its rule says', () => {
  it('checks a web folder, a Lambda zip, an npm tarball, a file and an attestation in one run', async () => {
    const dir = tmp();
    await webBuild(dir);
    const zip = put(dir, 'fn/function.zip', zipBytes());
    await sign(zip);
    await attest(zip, CYCLONEDX, SBOM);
    await npmTarball(dir);
    const file = put(dir, 'bin/tool', 'an executable');
    await sign(file);
    const sbom = await attest(file, CYCLONEDX, SBOM, release.signer, 'cyclonedx');
    const policy = await policyFrom(
      dir,
      `
  - { kind: web, signers: [release] }
  - kind: lambda-zip
    signers: [release]
    attestations: [{ predicateType: cyclonedx }]
  - { kind: npm-tarball, signers: [release] }
  - { kind: attestation, signers: [release], predicateTypes: [cyclonedx] }
  - { match: 'bin/*', signers: [release] }
`,
    );
    const artifacts = ['dist', 'fn/function.zip', 'app-1.0.0.tgz', 'bin/tool', path.relative(dir, sbom)];
    const verdicts = await gateIn(dir, artifacts, policy);
    expect(verdicts.map((v) => [v.artifact, v.kind, v.rule, v.ok, v.signer])).toEqual([
      ['dist', 'web', 0, true, 'key release'],
      ['fn/function.zip', 'lambda-zip', 1, true, 'key release'],
      ['app-1.0.0.tgz', 'npm-tarball', 2, true, 'key release'],
      ['bin/tool', 'file', 4, true, 'key release'],
      ['bin/tool.cyclonedx.sigstore.json', 'attestation', 3, true, 'key release'],
    ]);
    expect(verdicts[0]?.reason).toBe('3 files match the signed manifest');
    expect(verdicts[1]?.reason).toBe('signature verified (sha256); cyclonedx by key release');
    expect(verdicts[1]?.attestations).toEqual([
      { predicateType: CYCLONEDX, bundle: 'fn/function.zip.sbom.sigstore.json', signer: 'key release' },
    ]);
    expect(verdicts[2]?.reason).toBe('pkg:npm/@acme/app@1.0.0');
    expect(verdicts[4]?.reason).toBe('cyclonedx about tool');
  });

  it('verifies an Ed25519 message signature, which covers the whole file', async () => {
    const dir = tmp();
    const zip = put(dir, 'function.zip', zipBytes());
    await sign(zip, edwards.signer);
    const policy = await policyFrom(dir, '  - { kind: lambda-zip, signers: [release, edwards] }');
    expect(await gateIn(dir, ['function.zip'], policy)).toMatchObject([{ ok: true, signer: 'key edwards' }]);
  });

  it('counts a web build signed as SLSA provenance as its own provenance attestation', async () => {
    const dir = tmp();
    const out = path.join(dir, 'dist');
    put(out, 'index.html', '<p>hi</p>');
    await signDirectory(out, release.signer, { provenance: true });
    const policy = await policyFrom(
      dir,
      "  - { kind: web, signers: [release], attestations: [{ predicateType: 'https://slsa.dev/provenance/v1' }] }",
    );
    expect(await gateIn(dir, ['dist/'], policy)).toMatchObject([
      { ok: true, reason: '1 file matches the signed manifest; slsaprovenance by key release' },
    ]);
  });

  it("takes a folder's attestations from beside it, about its signed manifest", async () => {
    const dir = tmp();
    const out = await webBuild(dir);
    const manifest = path.join(out, '.well-known/signet/manifest.sigstore.json');
    const statement = await createAttestation([{ path: manifest, name: 'dist' }], CYCLONEDX, SBOM);
    await writeBundle(path.join(dir, 'dist.cyclonedx.sigstore.json'), await signStatement(statement, release.signer));
    const policy = await policyFrom(dir, '  - { kind: web, signers: [release], attestations: [{ predicateType: cyclonedx }] }');
    expect(await gateIn(dir, ['dist'], policy)).toMatchObject([{ ok: true, attestations: [{ bundle: 'dist.cyclonedx.sigstore.json' }] }]);
    fs.rmSync(path.join(dir, 'dist.cyclonedx.sigstore.json'));
    expect(await gateIn(dir, ['dist/'], policy)).toMatchObject([
      { ok: false, code: 'E_POLICY', reason: 'no cyclonedx attestation beside it (dist.*.sigstore.json)' },
    ]);
  });

  it('applies the first rule that fits, and only it; a rule with kind and match decides the kind of what it matches', async () => {
    const dir = tmp();
    await sign(put(dir, 'build/handler.jar', zipBytes(1000)));
    await sign(put(dir, 'build/notes.txt', 'signed by release'));
    const policy = await policyFrom(
      dir,
      `
  - { kind: npm-tarball, signers: [other] }
  - { kind: lambda-zip, match: 'build/*.jar', signers: [release] }
  - { match: '**', signers: [other] }
  - { match: '**', signers: [release] }
`,
    );
    expect(await gateIn(dir, ['./build/handler.jar', 'build/notes.txt'], policy)).toMatchObject([
      { ok: true, kind: 'lambda-zip', rule: 1 },
      { ok: false, kind: 'file', rule: 2, code: 'E_SIGNATURE' },
    ]);
  });

  it('keeps the order of the artifacts, checked one at a time or many at once', async () => {
    const dir = tmp();
    const names: string[] = [];
    for (let i = 0; i < 12; i++) {
      const file = put(dir, `files/f${i}.bin`, i % 3 === 0 ? crypto.randomBytes(1024 * 1024 + i) : `file ${i}`);
      if (i !== 5) await sign(file);
      names.push(path.relative(dir, file));
    }
    const policy = await policyFrom(dir, "  - { match: '*.bin', signers: [release] }");
    for (const concurrency of [1, 8]) {
      const verdicts = await gateIn(dir, names, policy, concurrency);
      expect(verdicts.map((v) => v.artifact)).toEqual(names);
      expect(verdicts.map((v) => v.ok)).toEqual(names.map((_, i) => i !== 5));
    }
  });
});

describe('gate: what fails', () => {
  async function oneFile(dir: string, rules: string, prepare?: (file: string) => Promise<void> | void): Promise<GateVerdict> {
    const file = put(dir, 'app.zip', zipBytes(2 * 1024 * 1024));
    await sign(file);
    await prepare?.(file);
    const [verdict] = await gateIn(dir, ['app.zip'], await policyFrom(dir, rules));
    return verdict as GateVerdict;
  }

  it('a tampered artifact', async () => {
    const verdict = await oneFile(tmp(), '  - { kind: lambda-zip, signers: [release] }', (file) => fs.appendFileSync(file, 'x'));
    expect(verdict).toMatchObject({ ok: false, code: 'E_SIGNATURE', rule: 0 });
    expect(verdict.reason).toMatch(/^app\.zip\.sigstore\.json: the artifact does not match the bundle/);
  });

  it('a tampered file in a web folder', async () => {
    const dir = tmp();
    await webBuild(dir);
    fs.appendFileSync(path.join(dir, 'dist/assets/app.js'), 'steal()');
    fs.writeFileSync(path.join(dir, 'dist/evil.js'), 'x');
    const [verdict] = await gateIn(dir, ['dist'], await policyFrom(dir, '  - { kind: web, signers: [release] }'));
    expect(verdict).toMatchObject({ ok: false, code: 'E_SIGNATURE', signer: 'key release' });
    expect(verdict?.reason).toBe('dist does not match its signed manifest: modified assets/app.js; extra evil.js');
  });

  it('a missing bundle', async () => {
    const verdict = await oneFile(tmp(), '  - { kind: lambda-zip, signers: [release] }', (file) => fs.rmSync(`${file}.sigstore.json`));
    expect(verdict).toMatchObject({ ok: false, code: 'E_SIGNATURE', reason: 'not signed: app.zip.sigstore.json does not exist' });
  });

  it('a missing artifact', async () => {
    const dir = tmp();
    const [verdict] = await gateIn(dir, ['gone.zip'], await policyFrom(dir, "  - { match: '**', signers: [release] }"));
    expect(verdict).toMatchObject({ ok: false, code: 'E_INPUT', reason: 'gone.zip does not exist' });
  });

  it('a signer the rule does not trust, named', async () => {
    const verdict = await oneFile(tmp(), '  - { kind: lambda-zip, signers: [other] }');
    expect(verdict).toMatchObject({ ok: false, code: 'E_SIGNATURE' });
    expect(verdict.reason).toMatch(
      /^app\.zip\.sigstore\.json: the signature does not verify: .*; the bundle names another key \(sha256:[0-9a-f]{64}\), not other$/,
    );
  });

  it('a key signature where only keyless identities are trusted', async () => {
    const dir = tmp();
    const file = put(dir, 'app.bin', 'x');
    await sign(file);
    const policy = await loadGatePolicy(
      writePolicy(dir, {
        version: 1,
        identities: { ci: { issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: 'https://github\\.com/acme/.+' } },
        rules: [{ match: '**', signers: ['ci'] }],
      }),
    );
    expect(await gateIn(dir, ['app.bin'], policy)).toMatchObject([
      {
        ok: false,
        code: 'E_POLICY',
        reason: 'app.bin.sigstore.json: the bundle is signed by a key, and the policy trusts only keyless identities',
      },
    ]);
  });

  it('a required attestation that is missing', async () => {
    const verdict = await oneFile(tmp(), '  - { kind: lambda-zip, signers: [release], attestations: [{ predicateType: cyclonedx }] }');
    expect(verdict).toMatchObject({
      ok: false,
      code: 'E_POLICY',
      signer: 'key release',
      reason: 'no cyclonedx attestation beside it (app.zip.*.sigstore.json)',
    });
  });

  it('an attestation of the wrong predicate type', async () => {
    const verdict = await oneFile(
      tmp(),
      '  - { kind: lambda-zip, signers: [release], attestations: [{ predicateType: cyclonedx }] }',
      (file) => attest(file, SPDX, SPDX_DOC, release.signer, 'spdx').then(() => undefined),
    );
    expect(verdict).toMatchObject({
      ok: false,
      code: 'E_POLICY',
      reason: 'no cyclonedx attestation beside it (app.zip.*.sigstore.json); found spdx',
    });
  });

  it('an attestation by a signer the requirement does not trust', async () => {
    const verdict = await oneFile(
      tmp(),
      '  - { kind: lambda-zip, signers: [release], attestations: [{ predicateType: cyclonedx, signers: [release] }] }',
      (file) => attest(file, CYCLONEDX, SBOM, other.signer).then(() => undefined),
    );
    expect(verdict).toMatchObject({ ok: false, code: 'E_SIGNATURE' });
    expect(verdict.reason).toMatch(
      /^the cyclonedx attestation app\.zip\.sbom\.sigstore\.json: the signature does not verify: .*; the bundle names another key/,
    );
  });

  it('an attestation about another artifact', async () => {
    const verdict = await oneFile(
      tmp(),
      '  - { kind: lambda-zip, signers: [release], attestations: [{ predicateType: cyclonedx }] }',
      async (file) => {
        const elsewhere = put(path.dirname(file), 'other.zip', 'other bytes');
        await attest(elsewhere, CYCLONEDX, SBOM);
        fs.renameSync(`${elsewhere}.sbom.sigstore.json`, `${file}.sbom.sigstore.json`);
      },
    );
    expect(verdict).toMatchObject({ ok: false, code: 'E_SIGNATURE' });
    expect(verdict.reason).toContain(
      'the cyclonedx attestation app.zip.sbom.sigstore.json: the artifact is not a subject of the signed statement',
    );
  });

  it('an attestation of a predicate type its rule does not accept', async () => {
    const dir = tmp();
    const file = put(dir, 'app.bin', 'x');
    const bundle = await attest(file, SPDX, SPDX_DOC);
    const [verdict] = await gateIn(
      dir,
      [path.basename(bundle)],
      await policyFrom(dir, '  - { kind: attestation, signers: [release], predicateTypes: [cyclonedx] }'),
    );
    expect(verdict).toMatchObject({ ok: false, code: 'E_POLICY', reason: `the attestation's predicate type is ${SPDX}, not ${CYCLONEDX}` });
  });

  it('an artifact no rule covers: the gate denies by default', async () => {
    const verdict = await oneFile(tmp(), "  - { kind: npm-tarball, signers: [release] }\n  - { match: 'dist/**', signers: [release] }");
    expect(verdict).toMatchObject({ ok: false, kind: 'lambda-zip', code: 'E_POLICY', reason: 'no rule covers it' });
    expect(verdict.rule).toBeUndefined();
  });

  it('an image rule never covers a file, even one its match would fit', async () => {
    const verdict = await oneFile(tmp(), "  - { kind: image, match: '**', signers: [release] }");
    expect(verdict).toMatchObject({ ok: false, code: 'E_POLICY', reason: 'no rule covers it' });
  });

  it('a transparency-log entry required but absent', async () => {
    const verdict = await oneFile(tmp(), '  - { kind: lambda-zip, signers: [release], tlog: true }');
    expect(verdict).toMatchObject({
      ok: false,
      code: 'E_TLOG',
      reason: 'app.zip.sigstore.json: the bundle has 0 transparency-log entries, and the policy requires 1',
    });
  });

  it('an npm tarball signed as a plain file, or by a statement that names no package', async () => {
    const dir = tmp();
    const plain = put(dir, 'plain-1.0.0.tgz', zlib.gzipSync('x'));
    await sign(plain);
    await npmTarball(dir, 'odd-1.0.0.tgz', 'dist/odd-1.0.0.tgz');
    const verdicts = await gateIn(
      dir,
      ['plain-1.0.0.tgz', 'odd-1.0.0.tgz'],
      await policyFrom(dir, '  - { kind: npm-tarball, signers: [release] }'),
    );
    expect(verdicts.map((v) => [v.ok, v.code])).toEqual([
      [false, 'E_POLICY'],
      [false, 'E_POLICY'],
    ]);
    expect(verdicts[0]?.reason).toMatch(/plain signature; an npm tarball is signed as a statement naming pkg:npm/);
    expect(verdicts[1]?.reason).toMatch(/names dist\/odd-1\.0\.0\.tgz, not an npm package/);
  });

  it('a file that is not what its rule says it is', async () => {
    const dir = tmp();
    await sign(put(dir, 'fake.zip', 'not a zip at all'));
    const [verdict] = await gateIn(dir, ['fake.zip'], await policyFrom(dir, '  - { kind: lambda-zip, signers: [release] }'));
    expect(verdict).toMatchObject({ ok: false, code: 'E_INPUT', reason: 'fake.zip is not a zip file' });
  });
});

describe('gate with transparency logs and keyless identities', () => {
  const stack = new SigstoreStack();
  let trustedRoot: TrustedRoot;
  let services: SigstoreServices;

  beforeAll(async () => {
    await stack.start();
    trustedRoot = await loadTrustedRoot({ trustedRootPath: stack.trustedRootPath });
    services = { fulcioURL: stack.fulcio.url, rekorURL: stack.rekor.url, tsaURL: stack.tsa.url, retries: 1, timeoutMs: 5_000 };
  });
  afterAll(() => stack.stop());

  async function keylessBundle(file: string, email: string): Promise<Bundle> {
    const identityToken = await stack.mintToken({ email });
    return signArtifact({ path: file }, await openSigner('keyless', { identityToken, services }), { services });
  }

  function identityPolicy(dir: string, tlog = true): Promise<GatePolicy> {
    return loadGatePolicy(
      writePolicy(dir, {
        version: 1,
        keys: { release: { publicKey: 'keys/release.pub' } },
        identities: { ci: { issuer: stack.oidc.url, subjectRegExp: '.+@acme\\.example' } },
        rules: [{ match: '**', signers: ['ci', 'release'], tlog }],
      }),
    );
  }

  it('passes a keyless signature by a trusted identity and a logged key signature; loads the trusted root once', async () => {
    const dir = tmp();
    const keyless = put(dir, 'keyless.bin', 'signed in CI');
    await writeBundle(`${keyless}.sigstore.json`, await keylessBundle(keyless, 'release@acme.example'));
    const logged = put(dir, 'logged.bin', 'signed with a key, logged');
    await writeBundle(`${logged}.sigstore.json`, await signArtifact({ path: logged }, release.signer, { tlogUpload: true, services }));
    const policy = await identityPolicy(dir);
    let loads = 0;
    const verdicts = await gate([keyless, logged], policy, {
      trustedRoot: async () => {
        loads++;
        return trustedRoot;
      },
    });
    expect(verdicts).toMatchObject([
      { ok: true, signer: 'identity ci (release@acme.example)', reason: 'signature verified (sha256), logged' },
      { ok: true, signer: 'key release', reason: 'signature verified (sha256), logged' },
    ]);
    expect(loads).toBe(1);
  });

  it('fails an identity the policy does not trust', async () => {
    const dir = tmp();
    const file = put(dir, 'a.bin', 'x');
    await writeBundle(`${file}.sigstore.json`, await keylessBundle(file, 'mallory@evil.example'));
    const [verdict] = await gate([file], await identityPolicy(dir), { trustedRoot: async () => trustedRoot });
    expect(verdict).toMatchObject({ ok: false, code: 'E_POLICY' });
    expect(verdict?.reason).toMatch(/a\.bin\.sigstore\.json: signed by mallory@evil\.example/);
  });

  it('never loads a trusted root for key signatures without log entries', async () => {
    const dir = tmp();
    const file = put(dir, 'a.bin', 'x');
    await sign(file);
    const verdicts = await gate([file], await identityPolicy(dir, false), { trustedRoot: () => Promise.reject(new Error('not needed')) });
    expect(verdicts).toMatchObject([{ ok: true }]);
  });

  it('stops, rather than failing artifacts one by one, when the trusted root cannot be had', async () => {
    const dir = tmp();
    const file = put(dir, 'a.bin', 'x');
    await writeBundle(`${file}.sigstore.json`, await keylessBundle(file, 'release@acme.example'));
    const unreachable = Object.assign(new Error('TUF mirror unreachable'), { code: 'E_PROVIDER' });
    await expect(gate([file], await identityPolicy(dir), { trustedRoot: () => Promise.reject(unreachable) })).rejects.toBe(unreachable);
  });
});
