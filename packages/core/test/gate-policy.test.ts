import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { imageRuleFor, loadGatePolicy, signersPolicy } from '../src';
import { CYCLONEDX, gateIn, KEYS, policyFrom, put, release, sign, writePolicy } from './helpers/gate';
import { useTmpDir } from './helpers/tmp';

const tmp = useTmpDir();

describe('gate policy files', () => {
  const RULES = [{ kind: 'lambda-zip', match: ['fn/*.zip'], signers: ['release'], attestations: [{ predicateType: 'cyclonedx' }] }];

  it('reads the same policy from YAML and from JSON', async () => {
    const dir = tmp();
    const yaml = await loadGatePolicy(
      writePolicy(
        dir,
        `version: 1
keys:
  release:
    publicKey: keys/release.pub   # relative to this file
    validFrom: 2025-01-01
identities:
  ci:
    issuer: https://token.actions.githubusercontent.com
    subjectRegExp: 'https://github\\.com/acme/.+'
rules:
  - kind: lambda-zip
    match: fn/*.zip
    signers: [release]
    attestations:
      - predicateType: cyclonedx
`,
      ),
    );
    const json = await loadGatePolicy(
      writePolicy(
        dir,
        {
          version: 1,
          keys: { release: { publicKey: 'keys/release.pub', validFrom: '2025-01-01' } },
          identities: { ci: { issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: 'https://github\\.com/acme/.+' } },
          rules: RULES,
        },
        'nested/../policy.json',
      ),
    );
    for (const policy of [yaml, json]) {
      expect(policy.rules).toEqual([{ ...RULES[0], tlog: false, attestations: [{ predicateType: CYCLONEDX, signers: ['release'] }] }]);
      expect(policy.keys.get('release')).toMatchObject({ name: 'release', validFrom: new Date('2025-01-01') });
      expect(policy.identities.get('ci')?.subjectRegExp).toBe('https://github\\.com/acme/.+');
    }
  });

  it('takes an inline PEM key, as a Kubernetes ConfigMap would hold it', async () => {
    const dir = tmp();
    const indented = release.pem.trim().split('\n').join('\n      ');
    const policy = await loadGatePolicy(
      writePolicy(
        dir,
        `version: 1\nkeys:\n  release:\n    publicKey: |\n      ${indented}\nrules:\n  - { match: '**', signers: [release] }\n`,
      ),
    );
    const file = put(dir, 'a.txt', 'a');
    await sign(file);
    expect(await gateIn(dir, ['a.txt'], policy)).toMatchObject([{ ok: true }]);
  });

  // Each error: E_INPUT, one line: FILE:LINE:COLUMN: PATH: what is wrong.
  it.each([
    [
      'an unknown field',
      `${KEYS}rules:\n  - { kind: file, signer: [release] }\n`,
      /^policy\.yaml:8:19: rules\[0\]: unknown field "signer" \(expected kind, match, signers, tlog, attestations, predicateTypes\)$/,
    ],
    [
      'a wrong type',
      `${KEYS}rules:\n  - { kind: file, signers: [release], tlog: 'yes' }\n`,
      /^policy\.yaml:8:45: rules\[0\]\.tlog: must be true or false, not "yes"$/,
    ],
    [
      'an unknown kind',
      `${KEYS}rules:\n  - { kind: zip, signers: [release] }\n`,
      /^policy\.yaml:8:13: rules\[0\]\.kind: must be one of web, lambda-zip, npm-tarball, file, attestation, image, not "zip"$/,
    ],
    [
      'an unknown signer name',
      `${KEYS}rules:\n  - kind: file\n    signers: [release, relase]\n`,
      /^policy\.yaml:9:24: rules\[0\]\.signers\[1\]: "relase" is not a key or identity of the policy \(it has release, other, edwards\)$/,
    ],
    ['no version', 'rules: []\n', /^policy\.yaml:1:1: missing required field "version"$/],
    ['another version', 'version: 2\nrules: []\n', /^policy\.yaml:1:10: version: must be 1, not 2$/],
    ['no rules', `${KEYS}rules: []\n`, /^policy\.yaml:7:8: rules: must not be empty$/],
    ['a rule for nothing in particular', `${KEYS}rules:\n  - signers: [release]\n`, /rules\[0\]: give kind, match or both/],
    [
      'a bad key name',
      'version: 1\nkeys:\n  "a key": { publicKey: k.pub }\nrules: [{ kind: file, signers: [x] }]\n',
      /^policy\.yaml:3:3: keys: "a key" is not a usable name/,
    ],
    [
      'a missing key file',
      'version: 1\nkeys:\n  k: { publicKey: nope.pub }\nrules: [{ kind: file, signers: [k] }]\n',
      /^policy\.yaml:3:19: keys\.k\.publicKey: nope\.pub does not exist$/,
    ],
    [
      'a private key',
      'version: 1\nkeys:\n  k: { publicKey: private.pem }\nrules: [{ kind: file, signers: [k] }]\n',
      /keys\.k\.publicKey: private\.pem is not a PEM public key/,
    ],
    [
      'an identity with two issuers',
      'version: 1\nidentities:\n  ci: { issuer: a, issuerRegExp: b, subject: c }\nrules: [{ kind: file, signers: [ci] }]\n',
      /^policy\.yaml:3:7: identities\.ci: give issuer or issuerRegExp, not both$/,
    ],
    [
      'an identity with no subject',
      'version: 1\nidentities:\n  ci: { issuer: a }\nrules: [{ kind: file, signers: [ci] }]\n',
      /identities\.ci: give subject or subjectRegExp: a keyless identity without one would trust any subject$/,
    ],
    [
      'a bad regular expression',
      'version: 1\nidentities:\n  ci: { issuer: a, subjectRegExp: "(" }\nrules: [{ kind: file, signers: [ci] }]\n',
      /^policy\.yaml:3:35: identities\.ci\.subjectRegExp: not a valid regular expression: Unterminated group$/,
    ],
    [
      'an unknown predicate type',
      `${KEYS}rules:\n  - { kind: file, signers: [release], attestations: [{ predicateType: sbom }] }\n`,
      /rules\[0\]\.attestations\[0\]\.predicateType: unknown predicate type "sbom"/,
    ],
    [
      'predicateTypes on an artifact rule',
      `${KEYS}rules:\n  - { kind: file, signers: [release], predicateTypes: [cyclonedx] }\n`,
      /rules\[0\]\.predicateTypes: predicateTypes is for kind: attestation/,
    ],
    [
      'an image rule matching a tag',
      `${KEYS}rules:\n  - { kind: image, match: ["127.0.0.1:5000/shop/*", "ghcr.io/acme/app:1.0"], signers: [release] }\n`,
      /rules\[0\]\.match\[1\]: "ghcr\.io\/acme\/app:1\.0" names a tag or digest; an image rule matches REGISTRY\/REPOSITORY/,
    ],
    [
      'a bad date',
      'version: 1\nkeys:\n  k: { publicKey: keys/release.pub, validUntil: soon }\nrules: [{ kind: file, signers: [k] }]\n',
      /keys\.k\.validUntil: "soon" is not a date/,
    ],
    ['a YAML syntax error', 'version: 1\nrules:\n  - { kind: file\n', /^policy\.yaml:\d+:\d+: /],
    ['a duplicate key', 'version: 1\nversion: 1\nrules: []\n', /^policy\.yaml:2:1: Map keys must be unique/],
    ['not a mapping', '- a\n- b\n', /^policy\.yaml:1:1: must be a mapping, not a list$/],
  ])('refuses %s with a clear one-line error', async (_what, content, message) => {
    const dir = tmp();
    put(dir, 'private.pem', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writePolicy(dir, content);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const error = await loadGatePolicy('policy.yaml').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(message) });
      expect((error as Error).message).not.toContain('\n');
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses a missing policy file', async () => {
    await expect(loadGatePolicy(path.join(tmp(), 'nope.yaml'))).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringMatching(/nope\.yaml does not exist$/),
    });
  });
});

describe('image rules', () => {
  it('imageRuleFor finds the first image rule matching REGISTRY/REPOSITORY, and only image rules', async () => {
    const policy = await policyFrom(
      tmp(),
      [
        "  - { match: '**', signers: [other] }",
        "  - { kind: image, match: ['127.0.0.1:*/shop/**', 'docker.io/library/nginx'], signers: [release], tlog: true }",
        '  - { kind: image, signers: [other] }',
      ].join('\n'),
    );
    expect(imageRuleFor(policy, '127.0.0.1:5000/shop/web/api')).toMatchObject({ index: 1, rule: { signers: ['release'], tlog: true } });
    expect(imageRuleFor(policy, 'docker.io/library/nginx')?.index).toBe(1);
    expect(imageRuleFor(policy, 'ghcr.io/acme/app')?.index).toBe(2);
    expect(signersPolicy(policy, ['release'], true)).toMatchObject({ keys: [{ name: 'release' }], tlogThreshold: 1 });
    const only = await policyFrom(tmp(), "  - { kind: image, match: 'ghcr.io/acme/*', signers: [release] }");
    expect(imageRuleFor(only, 'ghcr.io/other/app')).toBeUndefined();
  });
});

describe('what a policy must say, and what it may not', () => {
  it('an attestation rule names the predicate types it accepts', async () => {
    const dir = tmp();
    await expect(policyFrom(dir, '  - { kind: attestation, signers: [release] }')).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringMatching(/policy\.yaml:\d+:\d+: rules\[0\]: an attestation rule says which predicate types it accepts/),
    });
    await expect(policyFrom(dir, '  - { kind: attestation, signers: [release], predicateTypes: [cyclonedx] }')).resolves.toBeDefined();
  });

  it('an identity may require the source repository and ref, exactly', async () => {
    const dir = tmp();
    const policy = await loadGatePolicy(
      writePolicy(
        dir,
        `version: 1\nidentities:\n  ci:\n    issuer: https://token.actions.githubusercontent.com\n    subject: https://github.com/acme/shared/.github/workflows/release.yml@v1\n    sourceRepository: https://github.com/acme/shop\n    sourceRepositoryRef: refs/tags/v1.0.0\nrules:\n  - { kind: file, signers: [ci] }\n`,
      ),
    );
    expect(policy.identities.get('ci')).toMatchObject({
      sourceRepository: 'https://github.com/acme/shop',
      sourceRepositoryRef: 'refs/tags/v1.0.0',
    });
  });

  it('refuses a key too weak to trust, where the policy names it', async () => {
    const dir = tmp();
    put(dir, 'keys/weak.pub', crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }));
    await expect(
      loadGatePolicy(
        writePolicy(dir, 'version: 1\nkeys:\n  weak: { publicKey: keys/weak.pub }\nrules:\n  - { kind: file, signers: [weak] }\n'),
      ),
    ).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringMatching(/policy\.yaml:3:\d+: keys\.weak\.publicKey: .*1024 bits, too weak/),
    });
  });

  it('refuses a YAML alias bomb before it expands, and a policy that is a FIFO without waiting', async () => {
    const dir = tmp();
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) levels.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    await expect(loadGatePolicy(writePolicy(dir, `version: 1\n${levels.join('\n')}\nrules: []\n`))).rejects.toMatchObject({
      code: 'E_INPUT',
    });
    const fifo = path.join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    await expect(loadGatePolicy(fifo)).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining('FIFO') });
  });
});
