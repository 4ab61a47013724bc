import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type GatePolicy, imageRuleFor, loadGatePolicy, publicKeyPem } from '../src';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

/** A policy whose rules are given as YAML flow mappings, with keys release and team. */
async function policyWith(...rules: string[]): Promise<GatePolicy> {
  const dir = tmp();
  for (const name of ['release', 'team']) {
    fs.writeFileSync(path.join(dir, `${name}.pub`), publicKeyPem(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
  }
  const file = path.join(dir, 'policy.yaml');
  fs.writeFileSync(
    file,
    `version: 1\nkeys:\n  release: { publicKey: release.pub }\n  team: { publicKey: team.pub }\nrules:\n${rules.map((r) => `  - ${r}\n`).join('')}`,
  );
  return loadGatePolicy(file);
}

describe('imageRuleFor: a rule and an image meet in one spelling', () => {
  it.each(['ghcr.io/acme/shop', 'GHCR.io/acme/shop', 'ghcr.io:443/acme/shop', 'ghcr.io.:443/acme/shop', 'ghcr.io:0443/acme/shop'])(
    '%s meets the ghcr.io/acme/** rule, not the weaker one after it',
    async (image) => {
      const policy = await policyWith("{ kind: image, match: 'ghcr.io/acme/**', signers: [release] }", '{ kind: image, signers: [team] }');
      expect(imageRuleFor(policy, image)?.index).toBe(0);
    },
  );

  it.each([
    'nginx',
    'docker.io/nginx',
    'docker.io/library/nginx',
    'index.docker.io/nginx',
    'registry-1.docker.io/library/nginx',
    'Docker.IO/nginx',
  ])('%s meets a rule on Docker Hub written in any of its spellings', async (image) => {
    for (const match of ['nginx', 'docker.io/library/nginx', 'index.docker.io/nginx', 'docker.io/ngin?']) {
      const policy = await policyWith(`{ kind: image, match: '${match}', signers: [release] }`, '{ kind: image, signers: [team] }');
      expect([match, imageRuleFor(policy, image)?.index]).toEqual([match, 0]);
    }
  });

  it('a rule written in another spelling is loaded in the canonical one', async () => {
    const policy = await policyWith(
      "{ kind: image, match: ['ghcr.io:443/acme/**', 'index.docker.io/acme/*', '127.0.0.1:05000/shop'], signers: [release] }",
    );
    expect(policy.rules[0]?.match).toEqual(['ghcr.io/acme/**', 'docker.io/acme/*', '127.0.0.1:5000/shop']);
    expect(imageRuleFor(policy, '127.0.0.1:5000/shop')?.index).toBe(0);
  });

  it('other rules keep their globs as written: only image names have a canonical spelling', async () => {
    const policy = await policyWith("{ kind: file, match: 'Dist/**', signers: [release] }");
    expect(policy.rules[0]?.match).toEqual(['Dist/**']);
  });

  it.each([
    [
      "'GHCR.io/acme/**'",
      /policy\.yaml:\d+:\d+: rules\[0\]\.match: "GHCR\.io\/acme\/\*\*" can never match: image names are read in lower case; write "ghcr\.io\/acme\/\*\*"$/,
    ],
    ["['ghcr.io/acme/*', 'ghcr.io:80/x']", /rules\[0\]\.match\[1\]: "ghcr\.io:80\/x" can never match: port 80 is plain HTTP's/],
    ["'*:443/**'", /rules\[0\]\.match: "\*:443\/\*\*" can never match: image names carry no :443/],
  ])('refuses an image rule that no image name can meet: %s', async (match, message) => {
    await expect(policyWith(`{ kind: image, match: ${match}, signers: [release] }`)).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringMatching(message),
    });
  });

  it('a policy built by hand, not loaded, has its image globs read in the canonical spelling too', async () => {
    const loaded = await policyWith('{ kind: image, signers: [team] }');
    const policy = {
      ...loaded,
      rules: [
        { kind: 'image' as const, match: ['ghcr.io:443/acme/**'], signers: ['release'], tlog: false, attestations: [] },
        ...loaded.rules,
      ],
    };
    expect(imageRuleFor(policy, 'GHCR.io/acme/shop')?.index).toBe(0);
    const unusable = { ...loaded, rules: [{ ...policy.rules[0], match: ['GHCR.io/acme/**'] } as (typeof policy.rules)[number]] };
    expect(() => imageRuleFor(unusable, 'ghcr.io/acme/shop')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });

  it('refuses an image name that is not one (E_INPUT), rather than letting no rule cover it', async () => {
    const policy = await policyWith('{ kind: image, signers: [release] }');
    expect(() => imageRuleFor(policy, '127.1:5000/shop')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });
});
