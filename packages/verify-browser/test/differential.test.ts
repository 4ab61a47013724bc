// @signet/core and @signet/verify-browser judge the same manifest bundles: what core accepts the
// browser accepts, with the same signer and files; what core refuses it refuses, with the same
// code. The bundles: manifests signed by each kind of key Signet signs with (and SLSA
// provenance), other statements, and mutants of them made by the attack suite's mutation fuzz.
import crypto from 'node:crypto';
import {
  type Bundle,
  createStatement,
  isSignetError,
  LocalSigner,
  parseBundle,
  serializeBundle,
  signBuild,
  signStatement,
  verifyManifestBundle,
} from '@signet/core';
import { type ManifestPolicy, verifyManifest } from '../src/index';

const { mutateOne, prng } = require('@signet/attacks/fuzz/mutation-fuzz') as typeof import('@signet/attacks/fuzz/mutation-fuzz');

interface Seed {
  name: string;
  json: Record<string, unknown>;
  artifact: Buffer;
  core: { keys: { publicKey: string; name: string }[] };
  browser: ManifestPolicy;
}

type Outcome =
  | { accepted: true; signer: string; files: [string, string][]; createdAt?: string }
  | { accepted: false; code: string; message: string };

const FILES = [
  { name: 'index.html', data: '<!doctype html><script type="module" src="/assets/app.js"></script>' },
  { name: 'assets/app.js', data: 'import("./lazy.js");' },
  { name: 'assets/lazy.js', data: 'export const x = 1;' },
  { name: 'assets/app.css', data: 'body{}' },
];
const KEYS: [string, string, object][] = [
  ['ecdsa-p256', 'ec', { namedCurve: 'P-256' }],
  ['ecdsa-p384', 'ec', { namedCurve: 'P-384' }],
  ['ed25519', 'ed25519', {}],
  ['rsa-2048', 'rsa', { modulusLength: 2048 }],
];

let seeds: Seed[] = [];

beforeAll(async () => {
  const made: Seed[] = [];
  for (const [name, type, options] of KEYS) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync(
      type as 'ec',
      options as crypto.ECKeyPairOptions<'pem', 'pem'>,
    ) as unknown as crypto.KeyPairKeyObjectResult;
    const signer = new LocalSigner(name, privateKey);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const policies = {
      core: { keys: [{ publicKey: pem, name }] },
      browser: { keys: [{ jwk: publicKey.export({ format: 'jwk' }), name }] },
    };
    const info = { bundler: { name: 'test', version: '1' }, outputDir: 'dist', createdAt: new Date(Date.UTC(2026, 5, 1)) };
    const manifest = await signBuild(FILES, info, signer);
    made.push({ name: `${name} manifest`, json: JSON.parse(manifest.bundleJson), artifact: Buffer.from(''), ...policies });
    if (name === 'ecdsa-p256') {
      const provenance = await signBuild(FILES, { ...info, provenance: true }, signer);
      made.push({ name: 'slsa provenance manifest', json: JSON.parse(provenance.bundleJson), artifact: Buffer.from(''), ...policies });
      const sbom = await signStatement(
        createStatement([{ name: 'app.tgz', digest: { sha256: 'a'.repeat(64) } }], 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX' }),
        signer,
      );
      made.push({
        name: 'an SBOM statement',
        json: serializeBundle(sbom) as unknown as Record<string, unknown>,
        artifact: Buffer.from(''),
        ...policies,
      });
    }
  }
  seeds = made;
});

async function judgeCore(json: unknown, seed: Seed): Promise<Outcome> {
  try {
    const bundle: Bundle = parseBundle(json);
    const { verified, files } = await verifyManifestBundle(bundle, seed.core);
    const signer = verified.signer.kind === 'key' ? verified.signer.fingerprint : verified.signer.subject;
    const createdAt = (verified.statement.predicate as { createdAt?: string } | null)?.createdAt;
    return { accepted: true, signer, files: [...files], ...(createdAt && { createdAt }) };
  } catch (error) {
    if (!isSignetError(error)) throw error;
    return { accepted: false, code: error.code, message: error.message };
  }
}

async function judgeBrowser(json: unknown, seed: Seed): Promise<Outcome> {
  try {
    const verified = await verifyManifest(structuredClone(json), seed.browser);
    const signer = verified.signer.kind === 'key' ? verified.signer.fingerprint : verified.signer.subject;
    return { accepted: true, signer, files: [...verified.files], ...(verified.createdAt && { createdAt: verified.createdAt }) };
  } catch (error) {
    if ((error as { name?: string }).name !== 'ManifestError') throw error;
    return { accepted: false, code: (error as { code: string }).code, message: (error as Error).message };
  }
}

test('the seeds: every manifest accepted by both with the same signer and files; an SBOM refused by both', async () => {
  for (const seed of seeds) {
    const [core, browser] = [await judgeCore(seed.json, seed), await judgeBrowser(seed.json, seed)];
    expect({ seed: seed.name, ...browser }).toEqual({ seed: seed.name, ...core });
    expect(core.accepted).toBe(seed.name !== 'an SBOM statement');
  }
  // Another key's policy: refused by both.
  const [a, b] = [seeds[0] as Seed, seeds.find((seed) => seed.name === 'ed25519 manifest') as Seed];
  const crossed = { ...a, core: b.core, browser: b.browser };
  expect(await judgeBrowser(a.json, crossed)).toMatchObject({
    accepted: false,
    code: ((await judgeCore(a.json, crossed)) as { code: string }).code,
  });
});

test('3,000 mutants from the mutation fuzz: the same verdict from both, never an accept core refuses', async () => {
  const random = prng(20261207);
  const differences: string[] = [];
  let accepted = 0;
  const codes: Record<string, number> = {};
  for (let i = 0; i < 3000; i++) {
    const { seed, json, applied } = mutateOne(seeds, random);
    const core = await judgeCore(json, seed);
    const browser = await judgeBrowser(json, seed);
    if (core.accepted) accepted++;
    else codes[core.code] = (codes[core.code] ?? 0) + 1;
    const same = core.accepted
      ? browser.accepted && JSON.stringify(browser) === JSON.stringify(core)
      : !browser.accepted && browser.code === core.code;
    if (!same)
      differences.push(
        `#${i} ${seed.name}: ${applied.join('; ')} => core ${JSON.stringify(core).slice(0, 200)} / browser ${JSON.stringify(browser).slice(0, 200)}`,
      );
  }
  console.log(`differential fuzz: ${accepted} accepted by both, refused: ${JSON.stringify(codes)}`);
  expect(differences.slice(0, 15)).toEqual([]);
  // The mutants are real attacks: most refused, for several reasons; some harmless ones accepted.
  expect(accepted).toBeGreaterThan(0);
  expect(Object.keys(codes).length).toBeGreaterThanOrEqual(3);
}, 600_000);
