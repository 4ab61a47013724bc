// A gate policy's image rules as a Kyverno ClusterPolicy and policy-controller ClusterImagePolicies.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type GatePolicy, imageRuleFor, loadGatePolicy, SignetError } from '@signet/core';
import { useTempDir } from '@signet/test-support';
import { parseImageReference } from '../src';
import { IMAGE_VOLUMES_UNCHECKED, kyvernoPolicy, policyControllerPolicy, toYaml } from '../src/policy-export';
import { kyvernoSchemaErrors } from './kyverno-schema';

const tmp = useTempDir();

const REKOR = 'https://rekor.sigstore.dev';
const FULCIO = 'https://fulcio.sigstore.dev';
const GITHUB = 'https://token.actions.githubusercontent.com';
const CI_SUBJECT = String.raw`https://github\.com/acme/shop/\.github/workflows/release\.yml@refs/tags/v.+`;
const DIGEST = `sha256:${'ab'.repeat(32)}`;

function publicKeyPem(namedCurve = 'prime256v1'): string {
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve });
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** Writes the policy and its keys (name -> PEM, under keys/) to a fresh folder and loads it. */
async function load(policy: string, keys: Record<string, string> = { release: publicKeyPem() }): Promise<GatePolicy> {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'keys'));
  for (const [name, pem] of Object.entries(keys)) fs.writeFileSync(path.join(dir, `keys/${name}.pub`), pem);
  fs.writeFileSync(path.join(dir, 'policy.yaml'), policy);
  return loadGatePolicy(path.join(dir, 'policy.yaml'));
}

/** Kyverno's rules for the policy's image rules: after the one denying respelled references. */
function kyvernoImageRules(policy: GatePolicy) {
  const [respelled, ...rules] = (kyvernoPolicy(policy).documents[0] as { spec: { rules: KyvernoRule[] } }).spec.rules;
  expect(respelled?.name).toBe('respelled-image-references');
  return rules;
}

// biome-ignore lint/suspicious/noExplicitAny: exported documents are read field by field
type KyvernoRule = { name: string; verifyImages: any[] };

/** policy-controller's ClusterImagePolicies for the policy's image rules: after the one failing respelled references. */
function imagePolicies(policy: GatePolicy) {
  const [respelled, ...documents] = policyControllerPolicy(policy).documents as {
    metadata: { name: string };
    spec: Record<string, unknown>;
  }[];
  expect(respelled?.metadata.name).toBe('signet-images-respelled-references');
  return documents;
}

const POD_EXTRACTORS = {
  Pod: [
    { name: 'initContainers', path: '/spec/initContainers/*/image', key: 'name' },
    { name: 'containers', path: '/spec/containers/*/image', key: 'name' },
    { name: 'ephemeralContainers', path: '/spec/ephemeralContainers/*/image', key: 'name' },
    { name: 'imageVolumes', path: '/spec/volumes/*/image/reference' },
  ],
};

/** A policy with the release key and one rule. */
const oneRule = (rule: string) => load(`version: 1\nkeys:\n  release: { publicKey: keys/release.pub }\nrules:\n  - ${rule}\n`);

describe('a policy with keys, an identity, a validity window, attestations and three image rules', () => {
  const release = publicKeyPem();
  const old = publicKeyPem('secp384r1');
  let policy: GatePolicy;

  beforeEach(async () => {
    policy = await load(
      `version: 1
keys:
  release: { publicKey: keys/release.pub }
  release-2025: { publicKey: keys/release-2025.pub, validUntil: 2026-03-31 }
identities:
  ci:
    issuer: ${GITHUB}
    subjectRegExp: '${CI_SUBJECT}'
rules:
  - kind: web
    signers: [release]
  - kind: image
    match: 'ghcr.io/acme/legacy/**'
    signers: [release-2025]
  - kind: image
    match: ['ghcr.io/acme/*', 'docker.io/library/nginx']
    signers: [release, ci]
    tlog: true
    attestations:
      - predicateType: cyclonedx
        signers: [ci]
  - kind: image
    signers: [release]
`,
      { release, 'release-2025': old },
    );
  });

  const releaseKey = (tlog: boolean) => ({
    keys: { publicKeys: release, signatureAlgorithm: 'sha256', rekor: { url: REKOR, ignoreTlog: !tlog }, ctlog: { ignoreSCT: true } },
  });
  const ciKeyless = { keyless: { issuer: GITHUB, subjectRegExp: `^(?:${CI_SUBJECT})$`, rekor: { url: REKOR } } };
  const legacy = ['ghcr.io/acme/legacy/*:*', 'ghcr.io/acme/legacy/*@*', 'ghcr.io/acme/legacy:*', 'ghcr.io/acme/legacy@*'];
  const nginx = [
    'docker.io/library/nginx:*',
    'docker.io/library/nginx@*',
    'index.docker.io/library/nginx:*',
    'index.docker.io/library/nginx@*',
  ];
  const pods = { any: [{ resources: { kinds: ['Pod'] } }] };
  const enforced = {
    type: 'SigstoreBundle',
    mutateDigest: true,
    verifyDigest: true,
    required: true,
    failureAction: 'Enforce',
  };

  it('is one Kyverno ClusterPolicy: a rule each, later rules skipping what earlier ones cover exactly', () => {
    const { documents, warnings } = kyvernoPolicy(policy);
    expect(kyvernoSchemaErrors(documents[0] as object)).toEqual([]);
    expect(documents).toEqual([
      {
        apiVersion: 'kyverno.io/v1',
        kind: 'ClusterPolicy',
        metadata: { name: 'signet-images' },
        spec: {
          webhookConfiguration: { failurePolicy: 'Fail', timeoutSeconds: 30 },
          background: false,
          rules: [
            expect.objectContaining({ name: 'respelled-image-references' }),
            {
              name: 'image-rule-1',
              match: pods,
              imageExtractors: POD_EXTRACTORS,
              verifyImages: [
                {
                  imageReferences: legacy,
                  ...enforced,
                  attestors: [
                    {
                      count: 1,
                      entries: [
                        {
                          keys: {
                            publicKeys: old,
                            signatureAlgorithm: 'sha384',
                            rekor: { url: REKOR, ignoreTlog: true },
                            ctlog: { ignoreSCT: true },
                          },
                        },
                      ],
                    },
                  ],
                },
              ],
            },
            {
              name: 'image-rule-2',
              match: pods,
              imageExtractors: POD_EXTRACTORS,
              verifyImages: [
                {
                  imageReferences: ['ghcr.io/acme/*:*', 'ghcr.io/acme/*@*', ...nginx],
                  skipImageReferences: legacy,
                  ...enforced,
                  attestors: [{ count: 1, entries: [releaseKey(true), ciKeyless] }],
                  attestations: [{ type: 'https://cyclonedx.org/bom', attestors: [{ count: 1, entries: [ciKeyless] }] }],
                },
              ],
            },
            {
              name: 'image-rule-3',
              match: pods,
              imageExtractors: POD_EXTRACTORS,
              verifyImages: [
                {
                  imageReferences: ['*'],
                  // ghcr.io/acme/* is broader in Kyverno: skipping it would let images through that Signet holds to rule 3
                  skipImageReferences: [...legacy, ...nginx],
                  ...enforced,
                  attestors: [{ count: 1, entries: [releaseKey(false)] }],
                },
              ],
            },
          ],
        },
      },
    ]);
    expect(warnings).toEqual([
      'keys.release-2025: validUntil 2026-03-31 has no Kyverno equivalent; Kyverno trusts the key at any time, so take it out of the exported policy when its window closes',
      'rules[2].match "ghcr.io/acme/*": Kyverno\'s * and ? also match "/", so ghcr.io/acme/*:* covers more images than Signet\'s glob (deeper repositories too)',
      'rules[3]: an image that rules[2]\'s "ghcr.io/acme/*" also covers in Kyverno must pass both rules, where Signet applies only rules[2]',
    ]);
  });

  it('is policy-controller ClusterImagePolicies: one per rule, and one per required attestation', () => {
    const { documents, warnings } = policyControllerPolicy(policy);
    const releaseAuthority = { name: 'release', key: { data: release, hashAlgorithm: 'sha256' } };
    const ciAuthority = {
      name: 'ci',
      keyless: { url: FULCIO, identities: [{ issuer: GITHUB, subjectRegExp: `^(?:${CI_SUBJECT})$` }] },
      signatureFormat: 'bundle',
    };
    const rule2Images = ['ghcr.io/acme/*:*', 'ghcr.io/acme/*@*', 'index.docker.io/library/nginx:*', 'index.docker.io/library/nginx@*'].map(
      (glob) => ({ glob }),
    );
    const cip = (name: string, images: { glob: string }[], authorities: object[]) => ({
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name },
      spec: { images, authorities },
    });
    expect(documents).toEqual([
      cip('signet-images-respelled-references', expect.any(Array), [{ static: { action: 'fail' } }]),
      cip(
        'signet-images-rule-1',
        ['ghcr.io/acme/legacy/**:*', 'ghcr.io/acme/legacy/**@*', 'ghcr.io/acme/legacy:*', 'ghcr.io/acme/legacy@*'].map((glob) => ({
          glob,
        })),
        [{ name: 'release-2025', key: { data: old, hashAlgorithm: 'sha384' }, signatureFormat: 'bundle' }],
      ),
      cip('signet-images-rule-2', rule2Images, [{ ...releaseAuthority, ctlog: { url: REKOR }, signatureFormat: 'bundle' }, ciAuthority]),
      cip('signet-images-rule-2-cyclonedx', rule2Images, [
        { ...ciAuthority, attestations: [{ name: 'cyclonedx', predicateType: 'https://cyclonedx.org/bom' }] },
      ]),
      cip('signet-images-rule-3', [{ glob: '**' }], [{ ...releaseAuthority, signatureFormat: 'bundle' }]),
    ]);
    expect(warnings).toEqual([
      'keys.release-2025: validUntil 2026-03-31 has no policy-controller equivalent; policy-controller trusts the key at any time, so take it out of the exported policy when its window closes',
      'rules[2]: an image that rules[1]\'s "ghcr.io/acme/legacy/**" also covers must pass both rules in policy-controller (it has no way to skip images), where Signet applies only rules[1]',
      'rules[3]: an image that rules[1]\'s "ghcr.io/acme/legacy/**" also covers must pass both rules in policy-controller (it has no way to skip images), where Signet applies only rules[1]',
      'rules[3]: an image that rules[2]\'s "ghcr.io/acme/*" also covers must pass both rules in policy-controller (it has no way to skip images), where Signet applies only rules[2]',
      IMAGE_VOLUMES_UNCHECKED,
    ]);
  });

  it('names the policies and exports legacy .sig signatures as Kyverno type Cosign and signatureFormat legacy', () => {
    const kyverno = kyvernoPolicy(policy, { name: 'shop', format: 'legacy' }).documents[0] as {
      metadata: { name: string };
      spec: { rules: { verifyImages: { type: string }[] }[] };
    };
    expect(kyverno.metadata.name).toBe('shop');
    expect(kyverno.spec.rules.slice(1).map((rule) => rule.verifyImages[0]?.type)).toEqual(['Cosign', 'Cosign', 'Cosign']);
    const cips = policyControllerPolicy(policy, { name: 'shop', format: 'legacy' }).documents as {
      metadata: { name: string };
      spec: { authorities: { signatureFormat: string }[] };
    }[];
    expect(cips.map((cip) => cip.metadata.name)).toEqual([
      'shop-respelled-references',
      'shop-rule-1',
      'shop-rule-2',
      'shop-rule-2-cyclonedx',
      'shop-rule-3',
    ]);
    expect(cips.slice(1).flatMap((cip) => cip.spec.authorities.map((a) => a.signatureFormat))).toEqual(Array(5).fill('legacy'));
    expect(() => kyvernoPolicy(policy, { name: 'Shop Images' })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('writes YAML that parses back to the same documents', () => {
    const yaml = require('yaml') as typeof import('yaml');
    for (const { documents } of [kyvernoPolicy(policy), policyControllerPolicy(policy)]) {
      const text = toYaml(documents);
      expect(yaml.parseAllDocuments(text).map((document) => document.toJS())).toEqual(documents);
    }
    // PEM as a literal block, readable and diffable
    expect(toYaml(kyvernoPolicy(policy).documents)).toMatch(/ publicKeys: \|\n +-----BEGIN PUBLIC KEY-----\n/);
  });
});

describe('image globs', () => {
  // How each controller matches, as their sources do: Kyverno's wildcard.Match on
  // REGISTRY/PATH:TAG or REGISTRY/PATH@DIGEST (* any run, "/" included; ? one character);
  // policy-controller's pkg/apis/glob on go-containerregistry's ref.Name() (. literal,
  // ** any run, * any run without "/"), which names Docker Hub index.docker.io.
  const kyvernoMatches = (patterns: string[], image: string) =>
    patterns.some((p) =>
      new RegExp(
        `^${p
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replaceAll('*', '.*')
          .replaceAll('?', '.')}$`,
      ).test(image),
    );
  const policyControllerMatches = (globs: string[], image: string) =>
    globs.some((g) =>
      new RegExp(`^${g.replaceAll('.', '\\.').replaceAll('**', '#').replaceAll('*', '[^/]*').replaceAll('#', '.*')}$`).test(image),
    );

  const NAMES = [
    'ghcr.io/acme/app',
    'ghcr.io/acme/app-evil',
    'ghcr.io/acme/app/sub',
    'ghcr.io/acme',
    'ghcr.io/acme/team/app',
    'ghcr.io/acmex/app',
    'ghcr.io/acme/web-v2',
    'docker.io/library/nginx',
    'docker.io/library/nginx-evil',
    'docker.io/acme/nginx',
    '127.0.0.1:5000/shop/web',
    '127.0.0.1:5000/shop/web/api',
  ];

  it.each([
    ['ghcr.io/acme/app', true, ['ghcr.io/acme/app:*', 'ghcr.io/acme/app@*']],
    ['ghcr.io/acme/**', true, ['ghcr.io/acme/*:*', 'ghcr.io/acme/*@*', 'ghcr.io/acme:*', 'ghcr.io/acme@*']],
    ['ghcr.io/**/app', true, ['ghcr.io/*/app:*', 'ghcr.io/*/app@*', 'ghcr.io/app:*', 'ghcr.io/app@*']],
    ['docker.io/library/nginx', true, undefined],
    ['127.0.0.1:*/shop/**', false, undefined],
    ['ghcr.io/acme/{app,web-*}', false, ['ghcr.io/acme/app:*', 'ghcr.io/acme/app@*', 'ghcr.io/acme/web-*:*', 'ghcr.io/acme/web-*@*']],
    ['ghcr.io/acme/*', false, undefined],
    ['ghcr.io/acme/ap?', false, ['ghcr.io/acme/ap?:*', 'ghcr.io/acme/ap?@*']],
    ['*/acme/app', false, undefined],
    ['ghcr.io/acme/app**', false, ['ghcr.io/acme/app*:*', 'ghcr.io/acme/app*@*']],
  ])('%s: the same names in policy-controller; in Kyverno the same (exact: %s) or more', async (glob, exact, references) => {
    const policy = await oneRule(`{ kind: image, match: '${glob}', signers: [release] }`);
    const kyverno = kyvernoImageRules(policy)[0]?.verifyImages[0]?.imageReferences as string[];
    const globs = ((imagePolicies(policy)[0]?.spec.images ?? []) as { glob: string }[]).map((i) => i.glob);
    if (references) expect(kyverno).toEqual(references);
    for (const name of NAMES) {
      const signet = imageRuleFor(policy, name) !== undefined;
      const hub = name.replace(/^docker\.io\//, 'index.docker.io/');
      // policy-controller validates digests only (its mutating webhook resolves tags first)
      const policyControllerMatch = policyControllerMatches(globs, `${hub}@${DIGEST}`);
      if (!glob.includes('?')) expect([name, policyControllerMatch]).toEqual([name, signet]);
      else if (signet) expect([name, policyControllerMatch]).toEqual([name, true]);
      for (const image of [`${name}:1.0`, `${name}@${DIGEST}`, ...(name === hub ? [] : [`${hub}:latest`])]) {
        const kyvernoMatch = kyvernoMatches(kyverno, image);
        if (exact) expect([image, kyvernoMatch]).toEqual([image, signet]);
        else if (signet) expect([image, kyvernoMatch]).toEqual([image, true]);
      }
    }
  });

  it('a rule without match, or with **, covers every image; the rules after it are left out with a warning', async () => {
    const policy = await oneRule(
      `{ kind: image, match: ['**', 'ghcr.io/x/y'], signers: [release] }\n  - { kind: image, match: 'ghcr.io/acme/*', signers: [release] }`,
    );
    const kyverno = kyvernoPolicy(policy);
    expect(kyvernoImageRules(policy)).toMatchObject([{ name: 'image-rule-0', verifyImages: [{ imageReferences: ['*'] }] }]);
    expect(kyverno.warnings).toEqual(['rules[1] is left out: rules[0] before it covers every image, so Signet never applies it']);
    expect(imagePolicies(policy)).toEqual([expect.objectContaining({ spec: expect.objectContaining({ images: [{ glob: '**' }] }) })]);
    expect(policyControllerPolicy(policy).warnings).toEqual([
      'rules[1] is left out: rules[0] before it covers every image, so Signet never applies it',
      IMAGE_VOLUMES_UNCHECKED,
    ]);
  });

  it('? becomes * in policy-controller, with a warning', async () => {
    const policy = await oneRule("{ kind: image, match: 'ghcr.io/acme/ap?', signers: [release] }");
    expect(imagePolicies(policy)[0]?.spec.images).toEqual([{ glob: 'ghcr.io/acme/ap*:*' }, { glob: 'ghcr.io/acme/ap*@*' }]);
    expect(policyControllerPolicy(policy).warnings).toEqual([
      'rules[0].match "ghcr.io/acme/ap?": policy-controller globs have no ?, so it became *, which covers more images',
      IMAGE_VOLUMES_UNCHECKED,
    ]);
  });

  it.each([
    ['ghcr.io/acme/[ab]pp', /uses glob syntax Kyverno and policy-controller cannot express; use \*, \*\*, \? and \{a,b\}$/],
    ['ghcr.io/acme/!(app)', /uses glob syntax Kyverno and policy-controller cannot express/],
    ['ghcr.io/acme/app{1..3}', /only \{a,b\} alternatives can be exported, not a range or a lone brace$/],
  ])('%s is refused', async (glob, message) => {
    const policy = await oneRule(`{ kind: image, match: '${glob}', signers: [release] }`);
    for (const exporter of [kyvernoPolicy, policyControllerPolicy]) {
      expect(() => exporter(policy)).toThrow(expect.objectContaining({ code: 'E_INPUT', message: expect.stringMatching(message) }));
    }
  });
});

describe('identities', () => {
  it('exact values stay exact; regular expressions are anchored, as Signet matches the whole value', async () => {
    const policy = await load(
      `version: 1
identities:
  exact: { issuer: https://accounts.google.com, subject: release@acme.example }
  pattern: { issuerRegExp: 'https://(accounts\\.google|token\\.actions\\.githubusercontent)\\.com', subjectRegExp: '.+@acme\\.example' }
rules:
  - { kind: image, signers: [exact, pattern] }
`,
      {},
    );
    const entries = kyvernoImageRules(policy)[0]?.verifyImages[0]?.attestors[0]?.entries;
    expect(entries).toEqual([
      { keyless: { issuer: 'https://accounts.google.com', subject: 'release@acme.example', rekor: { url: REKOR } } },
      {
        keyless: {
          issuerRegExp: String.raw`^(?:https://(accounts\.google|token\.actions\.githubusercontent)\.com)$`,
          subjectRegExp: String.raw`^(?:.+@acme\.example)$`,
          rekor: { url: REKOR },
        },
      },
    ]);
    const authorities = imagePolicies(policy)[0]?.spec.authorities;
    expect(authorities).toEqual([
      {
        name: 'exact',
        keyless: { url: FULCIO, identities: [{ issuer: 'https://accounts.google.com', subject: 'release@acme.example' }] },
        signatureFormat: 'bundle',
      },
      {
        name: 'pattern',
        keyless: {
          url: FULCIO,
          identities: [
            {
              issuerRegExp: String.raw`^(?:https://(accounts\.google|token\.actions\.githubusercontent)\.com)$`,
              subjectRegExp: String.raw`^(?:.+@acme\.example)$`,
            },
          ],
        },
        signatureFormat: 'bundle',
      },
    ]);
  });

  it('the repository that ran a GitHub workflow, and its ref: Kyverno checks them, policy-controller cannot and says so', async () => {
    const policy = await load(
      `version: 1\nidentities:\n  ci:\n    issuer: ${GITHUB}\n    subjectRegExp: 'https://github\\.com/acme/shared/.+'\n    sourceRepository: https://github.com/acme/shop\n    sourceRepositoryRef: refs/tags/v1.0.0\nrules:\n  - { kind: image, signers: [ci] }\n`,
      {},
    );
    const entries = kyvernoImageRules(policy)[0]?.verifyImages[0]?.attestors[0]?.entries;
    expect(entries).toEqual([
      {
        keyless: {
          issuer: GITHUB,
          subjectRegExp: String.raw`^(?:https://github\.com/acme/shared/.+)$`,
          additionalExtensions: { githubWorkflowRepository: 'acme/shop', githubWorkflowRef: 'refs/tags/v1.0.0' },
          rekor: { url: REKOR },
        },
      },
    ]);
    expect(kyvernoPolicy(policy).warnings).toEqual([]);
    expect(policyControllerPolicy(policy).warnings).toEqual(
      expect.arrayContaining([expect.stringContaining('identities.ci.sourceRepository has no policy-controller equivalent')]),
    );
  });

  it('a lookaround, which Go regular expressions lack, is a warning', async () => {
    const policy = await load(
      `version: 1\nidentities:\n  ci: { issuer: ${GITHUB}, subjectRegExp: '(?!.*pull).+' }\nrules:\n  - { kind: image, signers: [ci] }\n`,
      {},
    );
    expect(kyvernoPolicy(policy).warnings).toEqual([
      "identities.ci.subjectRegExp: lookarounds and backreferences are JavaScript-only; Go's regular expressions (Kyverno) reject them",
    ]);
  });
});

describe('keys', () => {
  it('a validity window on either side is a warning, once however many rules use the key', async () => {
    const policy = await load(
      `version: 1
keys:
  next: { publicKey: keys/next.pub, validFrom: 2026-04-01 }
  old: { publicKey: keys/old.pub, validFrom: 2025-01-01, validUntil: '2026-03-31T12:00:00Z' }
rules:
  - { kind: image, match: 'ghcr.io/a/*', signers: [next, old] }
  - { kind: image, match: 'ghcr.io/b/*', signers: [next, old] }
`,
      { next: publicKeyPem(), old: publicKeyPem() },
    );
    expect(policyControllerPolicy(policy).warnings).toEqual([
      'keys.next: validFrom 2026-04-01 has no policy-controller equivalent; policy-controller trusts the key at any time, so take it out of the exported policy when its window closes',
      'keys.old: validFrom 2025-01-01, validUntil 2026-03-31T12:00:00.000Z has no policy-controller equivalent; policy-controller trusts the key at any time, so take it out of the exported policy when its window closes',
      IMAGE_VOLUMES_UNCHECKED,
    ]);
  });

  it('an Ed25519 key is exported as its SPKI PEM; an RSA-PSS key is a warning', async () => {
    const ed25519 = crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const pss = crypto
      .generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const policy = await load(
      'version: 1\nkeys:\n  ed: { publicKey: keys/ed.pub }\n  pss: { publicKey: keys/pss.pub }\nrules:\n  - { kind: image, signers: [ed, pss] }\n',
      { ed: ed25519, pss },
    );
    const { warnings } = policyControllerPolicy(policy);
    expect(((imagePolicies(policy)[0]?.spec.authorities ?? []) as unknown[])[0]).toEqual({
      name: 'ed',
      key: { data: ed25519, hashAlgorithm: 'sha256' },
      signatureFormat: 'bundle',
    });
    expect(warnings).toEqual([
      'keys.pss: an RSA-PSS key; policy-controller (Go) cannot load an id-RSASSA-PSS public key, so its signatures will not verify there',
      IMAGE_VOLUMES_UNCHECKED,
    ]);
  });
});

it('a policy without image rules is refused: there is nothing to export', async () => {
  const policy = await oneRule('{ kind: web, signers: [release] }');
  for (const exporter of [kyvernoPolicy, policyControllerPolicy]) {
    let error: unknown;
    try {
      exporter(policy);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SignetError);
    expect(error).toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('the policy has no kind: image rules') });
  }
});

describe('respelled image references', () => {
  // Signet reads each of these as another spelling of its registry, or refuses it.
  const RESPELLED = [
    'GHCR.io/acme/shop:1',
    'ghcr.io:443/acme/shop:1',
    'ghcr.io:80/acme/shop:1',
    'ghcr.io:0443/acme/shop:1',
    'ghcr.io./acme/shop:1',
    'ghcr.io.:5000/acme/shop:1',
    'registry-1.docker.io/acme/shop:1',
    'registry.hub.docker.com/library/nginx:1',
    `LOCALHOST:5000/shop@${DIGEST}`,
    'Acme/shop:1',
  ];
  // Numeric hosts Signet refuses or folds, which only a regular expression can tell apart.
  const RESPELLED_ADDRESSES = [
    '127.1:5000/shop:1',
    '0x7f.0.0.1/shop:1',
    '127.000.0.1/shop:1',
    '1234:5000/shop:1',
    '[::ffff:7f00:1]:5000/shop:1',
  ];
  // Written as Signet names them (index.docker.io is the controllers' own Docker Hub spelling).
  const CANONICAL = [
    'nginx:1',
    'acme/shop:1',
    '1234/app:1',
    'ghcr.io/acme/shop:V1',
    `ghcr.io/acme/shop@${DIGEST}`,
    'ghcr.io:8443/acme/shop:1',
    '127.0.0.1:5000/shop:1',
    '10.0.0.1/shop:1',
    'localhost:5000/shop:1',
    'localhost/shop:1',
    '[::1]:5000/shop:1',
    'index.docker.io/library/nginx:1',
    'docker.io/nginx:1',
    '0x.example.com/shop:1',
  ];

  /** Whether Signet reads the reference's registry as written: else it folds it into another spelling, or refuses it. */
  function writtenAsSignetNamesIt(image: string): boolean {
    const [first, ...rest] = image.split('/');
    const registry = rest.length > 0 && /[.:A-Z]|^localhost$/.test(first as string) ? first : undefined;
    try {
      const read = parseImageReference(image);
      return registry === undefined || registry === read.registry || registry === 'index.docker.io';
    } catch {
      return false;
    }
  }

  it('the examples are what they say they are, to Signet', () => {
    for (const image of [...RESPELLED, ...RESPELLED_ADDRESSES]) expect([image, writtenAsSignetNamesIt(image)]).toEqual([image, false]);
    for (const image of CANONICAL) expect([image, writtenAsSignetNamesIt(image)]).toEqual([image, true]);
  });

  it('Kyverno denies exactly the respelled ones, in containers and image volumes alike', async () => {
    const policy = await oneRule('{ kind: image, signers: [release] }');
    const [rule] = (kyvernoPolicy(policy).documents[0] as { spec: { rules: RespelledRule[] } }).spec.rules;
    expect(rule).toMatchObject({ name: 'respelled-image-references', validate: { failureAction: 'Enforce' } });
    const [containers, volumes] = rule?.validate.foreach ?? [];
    expect(containers?.list).toBe('request.object.spec.[initContainers, containers, ephemeralContainers][]');
    expect(volumes?.list).toBe('request.object.spec.volumes[?image].image || `[]`');
    for (const image of [...RESPELLED, ...RESPELLED_ADDRESSES, ...CANONICAL]) {
      const expected = !writtenAsSignetNamesIt(image);
      expect([image, denies(containers, 'element.image', image)]).toEqual([image, expected]);
      expect([image, denies(volumes, 'element.reference', image)]).toEqual([image, expected]);
    }
  });

  it('policy-controller fails the respellings its globs can express, and nothing written as Signet names it', async () => {
    const policy = await oneRule('{ kind: image, signers: [release] }');
    const [respelled] = policyControllerPolicy(policy).documents as { spec: { images: { glob: string }[]; authorities: object[] } }[];
    expect(respelled?.spec.authorities).toEqual([{ static: { action: 'fail' } }]);
    const globs = respelled?.spec.images.map(({ glob }) => glob) ?? [];
    // go-containerregistry names a reference with its tag or digest; a Docker Hub one under index.docker.io.
    const name = (image: string) =>
      image.includes('/') && /[.:A-Z]|^localhost/.test(image.split('/')[0] as string) ? image : `index.docker.io/${image}`;
    const matches = (image: string) =>
      globs.some((g) =>
        new RegExp(`^${g.replaceAll('.', '\\.').replaceAll('**', '#').replaceAll('*', '[^/]*').replaceAll('#', '.*')}$`).test(name(image)),
      );
    for (const image of RESPELLED) expect([image, matches(image)]).toEqual([image, true]);
    for (const image of CANONICAL) expect([image, matches(image)]).toEqual([image, false]);
  });

  it('a policy built by hand is exported in the canonical spelling too', async () => {
    const loaded = await oneRule('{ kind: image, signers: [release] }');
    const policy = {
      ...loaded,
      rules: [{ ...loaded.rules[0], kind: 'image' as const, match: ['ghcr.io:443/acme/*'] } as GatePolicy['rules'][number]],
    };
    expect(kyvernoImageRules(policy)[0]?.verifyImages[0]?.imageReferences).toEqual(['ghcr.io/acme/*:*', 'ghcr.io/acme/*@*']);
    const upper = { ...policy, rules: [{ ...policy.rules[0], match: ['GHCR.io/acme/*'] } as GatePolicy['rules'][number]] };
    expect(() => policyControllerPolicy(upper)).toThrow(
      expect.objectContaining({ code: 'E_INPUT', message: expect.stringContaining('rules[0].match "GHCR.io/acme/*" can never match') }),
    );
  });

  it('a rule naming a registry by its IPv4 address is a policy-controller warning: another spelling of the address would escape it', async () => {
    const policy = await oneRule("{ kind: image, match: '10.0.0.1:5000/**', signers: [release] }");
    expect(policyControllerPolicy(policy).warnings).toContain(
      '"10.0.0.1:5000/**" names a registry by its address; policy-controller\'s globs cannot refuse another spelling of an address (127.1 for 127.0.0.1), which would meet another rule there',
    );
  });

  interface RespelledRule {
    name: string;
    validate: { foreach: { list: string; deny: { conditions: { any: { key: string; operator: string; value: unknown }[] } } }[] };
  }

  /**
   * Evaluates a foreach's conditions for one element, as Kyverno would: each key is
   * `{{ regex_match('RE', VALUE || '') [&& !regex_match('RE2', VALUE || '')] }}`, whose Go
   * expressions use only syntax JavaScript reads the same way.
   */
  function denies(foreach: RespelledRule['validate']['foreach'][number] | undefined, value: string, image: string): boolean {
    return (foreach?.deny.conditions.any ?? []).some(({ key, operator, value: expected }) => {
      const tests = [...key.matchAll(/(!?)regex_match\('([^']*)', ([\w.]+) \|\| ''\)/g)];
      expect(tests.length).toBeGreaterThan(0);
      expect(key.replace(/(!?)regex_match\('([^']*)', ([\w.]+) \|\| ''\)/g, 'X')).toMatch(/^\{\{ X( && X)? \}\}$/);
      for (const [, , , argument] of tests) expect(argument).toBe(value);
      const result = tests.every(([, not, re]) => new RegExp(re as string).test(image) !== (not === '!'));
      return operator === 'Equals' && result === expected;
    });
  }
});
