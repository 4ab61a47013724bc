import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LocalSigner, parseBundle, readBundle, serializeBundle, signArtifact, writeBundle } from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

async function validBundleJson(): Promise<string> {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const bundle = await signArtifact({ bytes: Buffer.from('x') }, new LocalSigner('k', privateKey));
  return JSON.stringify(serializeBundle(bundle));
}

describe('readBundle', () => {
  it.each([
    ['empty', () => '', /is empty/],
    ['not JSON', () => '{"mediaType": ', /not valid JSON/],
    ['an array', () => '[]', /not a Sigstore bundle/],
    ['without a mediaType', () => '{}', /no mediaType/],
  ])('refuses a bundle that is %s with E_BUNDLE', async (_what, make, message) => {
    const file = path.join(tmp(), 'b.json');
    fs.writeFileSync(file, make());
    await expect(readBundle(file)).rejects.toMatchObject({ code: 'E_BUNDLE', message: expect.stringMatching(message) });
  });

  it('refuses a truncated bundle and an unknown version', async () => {
    const json = await validBundleJson();
    const file = path.join(tmp(), 'b.json');
    fs.writeFileSync(file, json.slice(0, json.length / 2));
    await expect(readBundle(file)).rejects.toMatchObject({ code: 'E_BUNDLE' });
    fs.writeFileSync(file, json.replace('bundle.v0.3+json', 'bundle.v0.9+json'));
    await expect(readBundle(file)).rejects.toMatchObject({ code: 'E_BUNDLE', message: expect.stringContaining('unsupported media type') });
  });

  it('refuses a structurally invalid bundle, naming the fields', async () => {
    const json = JSON.parse(await validBundleJson());
    delete json.messageSignature;
    await expect(Promise.resolve().then(() => parseBundle(json))).rejects.toMatchObject({ code: 'E_BUNDLE' });
  });

  it('reports a missing file and a directory as E_INPUT', async () => {
    await expect(readBundle(path.join(tmp(), 'missing.json'))).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(readBundle(tmp())).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('directory') });
  });

  it('round-trips what writeBundle writes, leaving no temporary file', async () => {
    const bundle = parseBundle(await validBundleJson());
    const file = path.join(tmp(), 'artifact.sigstore.json');
    await writeBundle(file, bundle);
    expect(serializeBundle(await readBundle(file))).toEqual(serializeBundle(bundle));
    expect(fs.readdirSync(tmp())).toEqual(['artifact.sigstore.json']);
  });
});
