// A gate policy's image rules as a Kyverno ImageValidatingPolicy: its fields against Kyverno's CRD, its CEL run on pods.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type GatePolicy, imageRuleFor, loadGatePolicy } from '@signet/core';
import { useTempDir } from '@signet/test-support';
import { kyvernoImageValidatingPolicy, kyvernoPolicy, parseImageReference, policyControllerPolicy } from '../src';
import { admit, type Pod } from './kyverno-cel';
import { kyvernoSchemaErrors } from './kyverno-schema';

const tmp = useTempDir();

const REKOR = 'https://rekor.sigstore.dev';
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

/** The one exported document, checked against Kyverno's CRD schema. */
function exported(policy: GatePolicy, namespace?: string) {
  const { documents, warnings } = kyvernoImageValidatingPolicy(policy, { namespace });
  expect(documents).toHaveLength(1);
  const [document] = documents as IvpDocument[];
  expect(kyvernoSchemaErrors(document as IvpDocument)).toEqual([]);
  return { document: document as IvpDocument, warnings };
}

// biome-ignore lint/suspicious/noExplicitAny: exported documents are read field by field
type IvpDocument = { apiVersion: string; kind: string; metadata: Record<string, string>; spec: any };

const pod = (...images: string[]): Pod => ({ spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } });
const byDigest = (name: string) => `${name}@${DIGEST}`;
/** Signatures where each image (by its name) is signed by exactly the attestors listed. */
const signedBy = (signers: Record<string, string[]>) => ({
  signed: (image: string, attestor: string) => signers[image.split('@')[0] as string]?.includes(attestor) ?? false,
});

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

  it('is one ImageValidatingPolicy (policies.kyverno.io/v1) that Kyverno 1.19 accepts, fail closed on pods and ephemeral containers', () => {
    const { document, warnings } = exported(policy);
    expect(document).toMatchObject({
      apiVersion: 'policies.kyverno.io/v1',
      kind: 'ImageValidatingPolicy',
      metadata: { name: 'signet-images' },
      spec: {
        matchConstraints: {
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'] },
          ],
        },
        failurePolicy: 'Fail',
        validationActions: ['Deny'],
        webhookConfiguration: { timeoutSeconds: 30 },
        evaluation: { background: { enabled: false } },
        matchImageReferences: [{ glob: '*' }],
        validationConfigurations: { mutateDigest: true, verifyDigest: true, required: true },
      },
    });
    expect(document.metadata).toEqual({ name: 'signet-images' });
    // Each signer once per log requirement; the key that rules[2] needs logged is a second attestor.
    expect(document.spec.attestors).toEqual([
      {
        name: 'release-2025',
        cosign: { key: { data: old, hashAlgorithm: 'sha384' }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } },
      },
      { name: 'release-tlog', cosign: { key: { data: release, hashAlgorithm: 'sha256' }, ctlog: { url: REKOR, insecureIgnoreSCT: true } } },
      {
        name: 'ci',
        cosign: { keyless: { identities: [{ issuer: GITHUB, subjectRegExp: `^(?:${CI_SUBJECT})$` }] }, ctlog: { url: REKOR } },
      },
      {
        name: 'release',
        cosign: { key: { data: release, hashAlgorithm: 'sha256' }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } },
      },
    ]);
    expect(document.spec.attestations).toEqual([{ name: 'cyclonedx', intoto: { type: 'https://cyclonedx.org/bom' } }]);
    expect(document.spec.validations.map((v: { message: string }) => v.message)).toEqual([
      expect.stringMatching(/^write the image as Signet names it/),
      'rules[1] (ghcr.io/acme/legacy/**): the image must be signed by release-2025',
      'rules[2] (ghcr.io/acme/*, docker.io/library/nginx): the image must be signed by one of release, ci',
      'rules[2] (ghcr.io/acme/*, docker.io/library/nginx): the image must have a https://cyclonedx.org/bom attestation signed by ci',
      'rules[3] (**): the image must be signed by release',
    ]);
    expect(document.spec.validations[2].expression).toBe(
      "variables.imageRules.filter(image, image.rule == '2').all(image, verifyImageSignatures(image.image, [attestors['release-tlog'], attestors.ci]) > 0)",
    );
    expect(document.spec.validations[3].expression).toBe(
      "variables.imageRules.filter(image, image.rule == '2').all(image, verifyAttestationSignatures(image.image, attestations.cyclonedx, [attestors.ci]) > 0)",
    );
    // Only what an ImageValidatingPolicy cannot say: no wildcard or rule-order approximations.
    expect(warnings).toEqual([
      'keys.release-2025: validUntil 2026-03-31 has no Kyverno equivalent; Kyverno trusts the key at any time, so take it out of the exported policy when its window closes',
    ]);
  });

  it('holds each image to the first rule that matches it, as Signet does, and to that rule only', () => {
    const { document } = exported(policy);
    const cases: [string, string[], string | undefined, string[][]][] = [
      // the legacy key alone suffices for legacy images, though rules[3] covers them too
      ['ghcr.io/acme/legacy/app', ['release-2025'], undefined, [['release-2025']]],
      [
        'ghcr.io/acme/legacy/app',
        ['release'],
        'rules[1] (ghcr.io/acme/legacy/**): the image must be signed by release-2025',
        [['release-2025']],
      ],
      // rules[2] needs its attestation, and the key's signature logged (release-tlog)
      [
        'ghcr.io/acme/app',
        ['release-tlog'],
        'rules[2] (ghcr.io/acme/*, docker.io/library/nginx): the image must have a https://cyclonedx.org/bom attestation signed by ci',
        [['release-tlog', 'ci'], ['ci']],
      ],
      [
        'ghcr.io/acme/app',
        ['release'],
        'rules[2] (ghcr.io/acme/*, docker.io/library/nginx): the image must be signed by one of release, ci',
        [['release-tlog', 'ci']],
      ],
      // ghcr.io/acme/* does not reach deeper: rules[3] decides, as in Signet
      ['ghcr.io/acme/team/app', ['release'], undefined, [['release']]],
      [
        'docker.io/library/nginx',
        ['release-tlog'],
        'rules[2] (ghcr.io/acme/*, docker.io/library/nginx): the image must have a https://cyclonedx.org/bom attestation signed by ci',
        [['release-tlog', 'ci'], ['ci']],
      ],
      ['quay.io/other/app', ['release'], undefined, [['release']]],
    ];
    for (const [name, signers, denied, attestors] of cases) {
      const result = admit(document, pod(byDigest(name)), signedBy({ [name]: signers }));
      expect([name, signers, result.matched, result.denied]).toEqual([name, signers, true, denied]);
      expect([name, result.calls.map((call) => call.attestors)]).toEqual([name, attestors]);
    }
    const attested = admit(document, pod(byDigest('ghcr.io/acme/app')), {
      ...signedBy({ 'ghcr.io/acme/app': ['ci'] }),
      attested: (_, predicateType, attestor) => predicateType === 'https://cyclonedx.org/bom' && attestor === 'ci',
    });
    expect(attested.denied).toBeUndefined();
    expect(attested.calls).toEqual([
      { image: byDigest('ghcr.io/acme/app'), attestors: ['release-tlog', 'ci'] },
      { image: byDigest('ghcr.io/acme/app'), attestors: ['ci'], predicateType: 'https://cyclonedx.org/bom' },
    ]);
  });

  it('finds the images of init and ephemeral containers and image volumes, and requires their digests', () => {
    const { document } = exported(policy);
    const unsigned = byDigest('quay.io/other/unsigned');
    const signed = { signed: (image: string) => image !== unsigned };
    const rule3 = 'rules[3] (**): the image must be signed by release';
    for (const spec of [
      { initContainers: [{ name: 'init', image: unsigned }] },
      { ephemeralContainers: [{ name: 'debug', image: unsigned }] },
      { volumes: [{ name: 'empty' }, { name: 'data', image: { reference: unsigned } }] },
    ]) {
      expect(admit(document, { spec: { containers: [{ name: 'web', image: byDigest('quay.io/a/b') }], ...spec } }, signed).denied).toBe(
        rule3,
      );
    }
    expect(admit(document, { spec: { containers: [{ name: 'web', image: byDigest('quay.io/a/b') }] } }, signed).denied).toBeUndefined();
    // Kyverno pins containers' tags before it validates (mutateDigest); an image volume's it does not.
    expect(admit(document, { spec: { volumes: [{ name: 'data', image: { reference: 'quay.io/a/b:1' } }] } }, signed).denied).toBe(
      'image quay.io/a/b:1 does not have a digest',
    );
  });

  it('checks an update only when it brings an image that the same container or volume did not have', () => {
    const { document } = exported(policy);
    const unsigned = { signed: () => false };
    const before: Pod = {
      spec: {
        containers: [{ name: 'web', image: byDigest('quay.io/a/web') }],
        volumes: [{ name: 'data', image: { reference: byDigest('quay.io/a/data') } }],
      },
    };
    const relabelled = structuredClone(before);
    expect(admit(document, relabelled, unsigned, before)).toEqual({ matched: false, calls: [] });
    const changes: Pod[] = [
      { spec: { ...before.spec, containers: [{ name: 'web', image: byDigest('quay.io/a/other') }] } },
      { spec: { ...before.spec, ephemeralContainers: [{ name: 'debug', image: byDigest('quay.io/a/debug') }] } },
      { spec: { ...before.spec, volumes: [{ name: 'data', image: { reference: byDigest('quay.io/a/other') } }] } },
      { spec: { ...before.spec, initContainers: [{ name: 'web', image: byDigest('quay.io/a/web') }] } },
    ];
    for (const changed of changes)
      expect(admit(document, changed, unsigned, before)).toMatchObject({ matched: true, denied: expect.any(String) });
  });
});

describe('image rules', () => {
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
    'localhost:5000/shop',
  ];
  /** How a pod may write the image of that name: as is, and Docker Hub's other spellings. */
  const spellings = (name: string) =>
    name.startsWith('docker.io/')
      ? [name, `index.${name}`, name.slice('docker.io/'.length), name.replace(/^docker\.io\/library\//, '')]
      : [name];

  it.each([
    'ghcr.io/acme/app',
    'ghcr.io/acme/**',
    'ghcr.io/**/app',
    'docker.io/library/nginx',
    '127.0.0.1:*/shop/**',
    'ghcr.io/acme/{app,web-*}',
    'ghcr.io/acme/*',
    'ghcr.io/acme/ap?',
    '*/acme/app',
    'ghcr.io/acme/app**',
    '**/nginx',
    'docker.io/*/nginx*',
    '*/acme/**',
  ])('%s covers the images Signet covers, however the pod spells them, and no other', async (glob) => {
    const policy = await load(
      `version: 1\nkeys:\n  release: { publicKey: keys/release.pub }\nrules:\n  - { kind: image, match: '${glob}', signers: [release] }\n`,
    );
    const { document, warnings } = exported(policy);
    expect(warnings).toEqual([]);
    for (const name of NAMES) {
      const signet = imageRuleFor(policy, name) !== undefined;
      for (const image of spellings(name).flatMap((spelling) => [`${spelling}:1.0@${DIGEST}`, byDigest(spelling)])) {
        expect(parseImageReference(image)).toMatchObject({ registry: name.split('/')[0] });
        const { denied } = admit(document, pod(image), { signed: () => true });
        expect([image, denied]).toEqual([
          image,
          signet ? undefined : 'an image that no kind: image rule of the Signet policy covers: Signet denies it',
        ]);
      }
    }
  });

  it('a rule without match, or with **, covers every image; the rules after it are left out with a warning', async () => {
    const policy = await load(
      "version: 1\nkeys:\n  release: { publicKey: keys/release.pub }\nrules:\n  - { kind: image, match: ['**', 'ghcr.io/x/y'], signers: [release] }\n  - { kind: image, match: 'ghcr.io/acme/*', signers: [release] }\n",
    );
    const { document, warnings } = exported(policy);
    expect(warnings).toEqual(['rules[1] is left out: rules[0] before it covers every image, so Signet never applies it']);
    expect(document.spec.validations.map((v: { message: string }) => v.message).slice(1)).toEqual([
      'rules[0] (**): the image must be signed by release',
    ]);
    for (const image of ['ghcr.io/acme/app', 'quay.io/x/y', 'nginx']) {
      expect(admit(document, pod(byDigest(image)), { signed: () => true }).calls).toEqual([
        { image: byDigest(image), attestors: ['release'] },
      ]);
    }
  });

  describe('respelled references', () => {
    const RESPELLED = [
      'GHCR.io/acme/shop',
      'ghcr.io:443/acme/shop',
      'ghcr.io./acme/shop',
      'registry-1.docker.io/acme/shop',
      '127.1:5000/shop',
    ];
    const CANONICAL = [
      'nginx',
      'acme/shop',
      'ghcr.io/acme/shop',
      'ghcr.io:8443/acme/shop',
      '127.0.0.1:5000/shop',
      'index.docker.io/library/nginx',
    ];

    it('are denied, in containers and image volumes alike, before any rule applies; the ClusterPolicy denies the same', async () => {
      const policy = await load(
        'version: 1\nkeys:\n  release: { publicKey: keys/release.pub }\nrules:\n  - { kind: image, signers: [release] }\n',
      );
      const { document } = exported(policy);
      const [respelled] = document.spec.validations;
      const clusterPolicyMessage = (kyvernoPolicy(policy).documents[0] as { spec: { rules: { validate?: { message: string } }[] } }).spec
        .rules[0]?.validate?.message;
      expect(respelled.message).toBe(clusterPolicyMessage);
      for (const name of [...RESPELLED, ...CANONICAL]) {
        const expected = RESPELLED.includes(name) ? respelled.message : undefined;
        const image = byDigest(name);
        expect([image, admit(document, pod(image), { signed: () => true }).denied]).toEqual([image, expected]);
        const volume: Pod = { spec: { volumes: [{ name: 'data', image: { reference: image } }] } };
        expect([image, admit(document, volume, { signed: () => true }).denied]).toEqual([image, expected]);
      }
    });
  });
});

describe('signers', () => {
  it('identities: exact values stay exact; regular expressions are anchored, as Signet matches the whole value', async () => {
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
    const { document, warnings } = exported(policy);
    expect(warnings).toEqual([]);
    expect(document.spec.attestors).toEqual([
      {
        name: 'exact',
        cosign: {
          keyless: { identities: [{ issuer: 'https://accounts.google.com', subject: 'release@acme.example' }] },
          ctlog: { url: REKOR },
        },
      },
      {
        name: 'pattern',
        cosign: {
          keyless: {
            identities: [
              {
                issuerRegExp: String.raw`^(?:https://(accounts\.google|token\.actions\.githubusercontent)\.com)$`,
                subjectRegExp: String.raw`^(?:.+@acme\.example)$`,
              },
            ],
          },
          ctlog: { url: REKOR },
        },
      },
    ]);
    expect(document.spec.validations.at(-1).expression).toBe(
      "variables.imageRules.filter(image, image.rule == '0').all(image, verifyImageSignatures(image.image, [attestors.exact, attestors.pattern]) > 0)",
    );
  });

  it("an identity's source repository and ref are warnings: Kyverno's ImageValidatingPolicy verifier does not check them", async () => {
    const policy = await load(
      `version: 1\nidentities:\n  ci:\n    issuer: ${GITHUB}\n    subjectRegExp: 'https://github\\.com/acme/shared/.+'\n    sourceRepository: https://github.com/acme/shop\n    sourceRepositoryRef: refs/tags/v1.0.0\nrules:\n  - { kind: image, signers: [ci] }\n`,
      {},
    );
    const { document, warnings } = exported(policy);
    expect(document.spec.attestors).toEqual([
      {
        name: 'ci',
        cosign: {
          keyless: { identities: [{ issuer: GITHUB, subjectRegExp: String.raw`^(?:https://github\.com/acme/shared/.+)$` }] },
          ctlog: { url: REKOR },
        },
      },
    ]);
    expect(warnings).toEqual([
      "identities.ci.sourceRepository has no ImageValidatingPolicy equivalent: its verifier checks a certificate's issuer and subject only (keyless.additionalExtensions, which Kyverno 1.19's schema accepts, is never read), so the exported attestor trusts the workflow whichever repository runs it; a ClusterPolicy (--kyverno-clusterpolicy) checks it for GitHub",
      "identities.ci.sourceRepositoryRef has no ImageValidatingPolicy equivalent: its verifier checks a certificate's issuer and subject only (keyless.additionalExtensions, which Kyverno 1.19's schema accepts, is never read), so the exported attestor trusts the workflow at any ref; a ClusterPolicy (--kyverno-clusterpolicy) checks it for GitHub",
    ]);
  });

  it('keys: a validity window, an RSA-PSS key and a lookaround are warnings, as in the other exports', async () => {
    const pss = crypto
      .generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const policy = await load(
      `version: 1
keys:
  next: { publicKey: keys/next.pub, validFrom: 2026-04-01 }
  pss: { publicKey: keys/pss.pub }
identities:
  ci: { issuer: ${GITHUB}, subjectRegExp: '(?!.*pull).+' }
rules:
  - { kind: image, match: 'ghcr.io/a/*', signers: [next, pss, ci] }
  - { kind: image, match: 'ghcr.io/b/*', signers: [next] }
`,
      { next: publicKeyPem(), pss },
    );
    const { warnings } = exported(policy);
    expect(warnings).toEqual([
      'keys.next: validFrom 2026-04-01 has no Kyverno equivalent; Kyverno trusts the key at any time, so take it out of the exported policy when its window closes',
      'keys.pss: an RSA-PSS key; Kyverno (Go) cannot load an id-RSASSA-PSS public key, so its signatures will not verify there',
      "identities.ci.subjectRegExp: lookarounds and backreferences are JavaScript-only; Go's regular expressions (Kyverno) reject them",
    ]);
    // Each warning is the policy's, not the export's: the same for the other targets.
    expect(policyControllerPolicy(policy).warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^keys\.next: validFrom/)]));
  });

  it('a signer whose name is no CEL identifier is named by index', async () => {
    const policy = await load(
      'version: 1\nkeys:\n  release.v2: { publicKey: keys/release.pub }\nrules:\n  - { kind: image, signers: [release.v2] }\n',
    );
    const { document } = exported(policy);
    expect(document.spec.attestors.map((a: { name: string }) => a.name)).toEqual(['release.v2']);
    expect(document.spec.validations.at(-1).expression).toContain("verifyImageSignatures(image.image, [attestors['release.v2']])");
    expect(admit(document, pod(byDigest('ghcr.io/a/b')), { signed: (_, attestor) => attestor === 'release.v2' }).denied).toBeUndefined();
  });
});

describe('the namespaced variant', () => {
  it('is a NamespacedImageValidatingPolicy in that namespace, with the same spec', async () => {
    const policy = await load(
      'version: 1\nkeys:\n  release: { publicKey: keys/release.pub }\nrules:\n  - { kind: image, signers: [release] }\n',
    );
    const cluster = exported(policy).document;
    const { document } = exported(policy, 'shop');
    expect(document).toEqual({
      apiVersion: 'policies.kyverno.io/v1',
      kind: 'NamespacedImageValidatingPolicy',
      metadata: { name: 'signet-images', namespace: 'shop' },
      spec: cluster.spec,
    });
  });

  it.each(['Shop', 'shop_1', '-shop', 'a'.repeat(64), ''])('refuses the namespace %j', async (namespace) => {
    const policy = await load(
      'version: 1\nkeys:\n  release: { publicKey: keys/release.pub }\nrules:\n  - { kind: image, signers: [release] }\n',
    );
    expect(() => kyvernoImageValidatingPolicy(policy, { namespace })).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('is not a Kubernetes namespace name') }),
    );
  });
});

describe("Kyverno's CRD schemas", () => {
  it('refuse what the API server refuses: a misspelled field, a value out of its enum, a set with a repeat, a missing field', async () => {
    const policy = await load(
      'version: 1\nkeys:\n  release: { publicKey: keys/release.pub }\nrules:\n  - { kind: image, signers: [release] }\n',
    );
    const { document } = exported(policy);
    const broken = structuredClone(document);
    broken.spec.attestors[0].cosign.ctlog.insecureIgnoreTLog = true;
    broken.spec.failurePolicy = 'Closed';
    broken.spec.validationActions = ['Deny', 'Deny'];
    delete broken.spec.validations;
    expect(kyvernoSchemaErrors(broken)).toEqual([
      `/spec must have required property 'validations' {"missingProperty":"validations"}`,
      '/spec/attestors/0/cosign/ctlog must NOT have additional properties {"additionalProperty":"insecureIgnoreTLog"}',
      '/spec/failurePolicy must be equal to one of the allowed values {"allowedValues":["Ignore","Fail"]}',
      '/spec/validationActions must pass "x-kubernetes-list-type" keyword validation {}',
    ]);
    const namespaced = { ...document, kind: 'NamespacedImageValidatingPolicy', spec: { ...document.spec, attestors: [{ name: 'x' }] } };
    expect(kyvernoSchemaErrors(namespaced)).toEqual([
      expect.stringMatching(/^\/spec\/attestors\/0 must have required property 'cosign'/),
      expect.stringMatching(/^\/spec\/attestors\/0 must have required property 'notary'/),
      expect.stringMatching(/^\/spec\/attestors\/0 must match exactly one schema in oneOf/),
    ]);
  });
});
