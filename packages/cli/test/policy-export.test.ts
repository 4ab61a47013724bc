// `signet policy export`: a gate policy's image rules as a Kyverno or policy-controller policy, in YAML.
import fs from 'node:fs';
import path from 'node:path';
import { generateKey, signet, singleErrorLine, snapshotDir, useTempDir, writeFile } from '@signet/test-support';

const tmp = useTempDir();

const POLICY = `version: 1
keys:
  release: { publicKey: release.pub, validUntil: 2027-01-01 }
identities:
  ci:
    issuer: https://token.actions.githubusercontent.com
    subjectRegExp: 'https://github\\.com/acme/shop/.+'
rules:
  - kind: web
    signers: [release]
  - kind: image
    match: 'ghcr.io/acme/**'
    signers: [release, ci]
    tlog: true
    attestations:
      - predicateType: cyclonedx
`;

/** A folder with a generated key and the policy trusting it; returns the folder and the public key PEM. */
function setup(policy = POLICY): { dir: string; pem: string } {
  const dir = tmp();
  const { pub } = generateKey(dir, 'release');
  writeFile(dir, 'gate-policy.yaml', policy);
  return { dir, pem: fs.readFileSync(path.join(dir, pub), 'utf8') };
}

function parseYaml(text: string): Record<string, unknown>[] {
  const yaml = require('yaml') as typeof import('yaml');
  return yaml.parseAllDocuments(text).map((document) => document.toJS() as Record<string, unknown>);
}

describe('signet policy export', () => {
  it('--kyverno prints an ImageValidatingPolicy on stdout and what it cannot express as warnings on stderr', () => {
    const { dir, pem } = setup();
    const result = signet(['policy', 'export', 'gate-policy.yaml', '--kyverno'], { cwd: dir });
    expect(result.stderr).toBe(
      'warning: keys.release: validUntil 2027-01-01 has no Kyverno equivalent; Kyverno trusts the key at any time, so take it out of the exported policy when its window closes\n',
    );
    expect(result.status).toBe(0);
    const documents = parseYaml(result.stdout);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({
      apiVersion: 'policies.kyverno.io/v1',
      kind: 'ImageValidatingPolicy',
      metadata: { name: 'signet-images' },
      spec: {
        failurePolicy: 'Fail',
        validationActions: ['Deny'],
        attestors: [
          {
            name: 'release',
            cosign: { key: { data: pem, hashAlgorithm: 'sha256' }, ctlog: { url: 'https://rekor.sigstore.dev', insecureIgnoreSCT: true } },
          },
          {
            name: 'ci',
            cosign: {
              keyless: {
                identities: [
                  { issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: '^(?:https://github\\.com/acme/shop/.+)$' },
                ],
              },
              ctlog: { url: 'https://rekor.sigstore.dev' },
            },
          },
        ],
        attestations: [{ name: 'cyclonedx', intoto: { type: 'https://cyclonedx.org/bom' } }],
        validations: [
          { message: expect.stringMatching(/^write the image as Signet names it/) },
          { message: 'an image that no kind: image rule of the Signet policy covers: Signet denies it' },
          {
            expression:
              "variables.imageRules.filter(image, image.rule == '1').all(image, verifyImageSignatures(image.image, [attestors.release, attestors.ci]) > 0)",
            message: 'rules[1] (ghcr.io/acme/**): the image must be signed by one of release, ci',
          },
          {
            expression:
              "variables.imageRules.filter(image, image.rule == '1').all(image, verifyAttestationSignatures(image.image, attestations.cyclonedx, [attestors.release, attestors.ci]) > 0)",
            message: 'rules[1] (ghcr.io/acme/**): the image must have a https://cyclonedx.org/bom attestation signed by one of release, ci',
          },
        ],
      },
    });
  });

  it('--kyverno --namespace --out writes a NamespacedImageValidatingPolicy to a file', () => {
    const { dir } = setup();
    const result = signet(
      ['policy', 'export', 'gate-policy.yaml', '--kyverno', '--namespace', 'shop', '--name', 'shop-images', '--out', 'ivp.yaml'],
      {
        cwd: dir,
      },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').slice(1)).toEqual(['wrote ivp.yaml (1 NamespacedImageValidatingPolicy)', '']);
    const documents = parseYaml(fs.readFileSync(path.join(dir, 'ivp.yaml'), 'utf8'));
    expect(documents).toEqual([
      {
        apiVersion: 'policies.kyverno.io/v1',
        kind: 'NamespacedImageValidatingPolicy',
        metadata: { name: 'shop-images', namespace: 'shop' },
        spec: expect.objectContaining({ validationConfigurations: { mutateDigest: true, verifyDigest: true, required: true } }),
      },
    ]);
  });

  it('--kyverno-clusterpolicy prints a ClusterPolicy on stdout and what Kyverno cannot express as warnings on stderr', () => {
    const { dir, pem } = setup();
    const result = signet(['policy', 'export', 'gate-policy.yaml', '--kyverno-clusterpolicy'], { cwd: dir });
    expect(result.stderr).toBe(
      'warning: keys.release: validUntil 2027-01-01 has no Kyverno equivalent; Kyverno trusts the key at any time, so take it out of the exported policy when its window closes\n',
    );
    expect(result.status).toBe(0);
    const documents = parseYaml(result.stdout);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'signet-images' },
      spec: {
        rules: [
          { name: 'respelled-image-references', validate: { failureAction: 'Enforce' } },
          {
            name: 'image-rule-1',
            match: { any: [{ resources: { kinds: ['Pod'] } }] },
            verifyImages: [
              {
                imageReferences: ['ghcr.io/acme/*:*', 'ghcr.io/acme/*@*', 'ghcr.io/acme:*', 'ghcr.io/acme@*'],
                type: 'SigstoreBundle',
                required: true,
                failureAction: 'Enforce',
                attestors: [
                  {
                    count: 1,
                    entries: [
                      {
                        keys: {
                          publicKeys: pem,
                          signatureAlgorithm: 'sha256',
                          rekor: { url: 'https://rekor.sigstore.dev', ignoreTlog: false },
                          ctlog: { ignoreSCT: true },
                        },
                      },
                      {
                        keyless: {
                          issuer: 'https://token.actions.githubusercontent.com',
                          subjectRegExp: '^(?:https://github\\.com/acme/shop/.+)$',
                          rekor: { url: 'https://rekor.sigstore.dev' },
                        },
                      },
                    ],
                  },
                ],
                attestations: [{ type: 'https://cyclonedx.org/bom' }],
              },
            ],
          },
        ],
      },
    });
  });

  it('--policy-controller --out writes the ClusterImagePolicies to a file, named and in the legacy format', () => {
    const { dir, pem } = setup();
    const result = signet(
      ['policy', 'export', 'gate-policy.yaml', '--policy-controller', '--name', 'shop', '--format', 'legacy', '--out', 'cips.yaml'],
      { cwd: dir },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      'warning: keys.release: validUntil 2027-01-01 has no policy-controller equivalent; policy-controller trusts the key at any time, so take it out of the exported policy when its window closes',
      'warning: image volumes (spec.volumes[].image, Kubernetes ImageVolume) are not checked by policy-controller: keep the ImageVolume feature off, or deny such volumes with another admission policy',
      'wrote cips.yaml (3 ClusterImagePolicies)',
      '',
    ]);
    const documents = parseYaml(fs.readFileSync(path.join(dir, 'cips.yaml'), 'utf8'));
    expect(documents.map((d) => (d.metadata as { name: string }).name)).toEqual([
      'shop-respelled-references',
      'shop-rule-1',
      'shop-rule-1-cyclonedx',
    ]);
    expect(documents[0]).toMatchObject({ spec: { authorities: [{ static: { action: 'fail' } }] } });
    expect(documents[1]).toEqual({
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'shop-rule-1' },
      spec: {
        images: ['ghcr.io/acme/**:*', 'ghcr.io/acme/**@*', 'ghcr.io/acme:*', 'ghcr.io/acme@*'].map((glob) => ({ glob })),
        authorities: [
          {
            name: 'release',
            key: { data: pem, hashAlgorithm: 'sha256' },
            ctlog: { url: 'https://rekor.sigstore.dev' },
            signatureFormat: 'legacy',
          },
          {
            name: 'ci',
            keyless: {
              url: 'https://fulcio.sigstore.dev',
              identities: [
                { issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: '^(?:https://github\\.com/acme/shop/.+)$' },
              ],
            },
            signatureFormat: 'legacy',
          },
        ],
      },
    });
    expect(documents[2]).toMatchObject({
      spec: {
        authorities: [
          { name: 'release', attestations: [{ name: 'cyclonedx', predicateType: 'https://cyclonedx.org/bom' }] },
          { name: 'ci' },
        ],
      },
    });
  });

  it.each([
    [[], /needs one of --kyverno, --kyverno-clusterpolicy, --policy-controller/],
    [['--kyverno', '--policy-controller'], /needs one of --kyverno, --kyverno-clusterpolicy, --policy-controller/],
    [['--kyverno', '--kyverno-clusterpolicy'], /needs one of --kyverno, --kyverno-clusterpolicy, --policy-controller/],
    [['--kyverno-clusterpolicy', '--namespace', 'shop'], /--namespace goes with --kyverno/],
    [['--kyverno', '--namespace', 'Shop'], /"Shop" is not a Kubernetes namespace name/],
    [['--kyverno', '--format', 'v3'], /--format must be one of bundle, legacy, not "v3"/],
    [['--kyverno', '--name', 'Shop Images'], /"Shop Images" is not usable as a policy name/],
  ])('refuses %j with one usage error (exit 2) and writes nothing', (flags, message) => {
    const { dir } = setup();
    const before = snapshotDir(dir);
    const result = signet(['policy', 'export', 'gate-policy.yaml', '--out', 'out.yaml', ...flags], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const { code, message: text } = singleErrorLine(result.stderr);
    expect(code).toBe('E_USAGE');
    expect(text).toMatch(message);
    expect(snapshotDir(dir)).toEqual(before);
  });

  it('refuses a policy without image rules (exit 2, E_INPUT) and a policy it cannot read', () => {
    const { dir } = setup('version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: web, signers: [release] }\n');
    const none = signet(['policy', 'export', 'gate-policy.yaml', '--kyverno'], { cwd: dir });
    expect(none.status).toBe(2);
    expect(singleErrorLine(none.stderr)).toEqual({
      code: 'E_INPUT',
      message: expect.stringContaining('the policy has no kind: image rules'),
    });
    const missing = signet(['policy', 'export', 'missing.yaml', '--policy-controller'], { cwd: dir });
    expect(missing.status).toBe(2);
    expect(singleErrorLine(missing.stderr).code).toBe('E_INPUT');
  });
});
