// `signet attest` and `signet verify-attestation`: in-toto statements in DSSE bundles.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  generateKey,
  readJson,
  sha256Hex,
  signet,
  signetOk,
  singleErrorLine,
  snapshotDir,
  useTempDir,
  writeFile,
} from '@signet/test-support';

const tmp = useTempDir();

const PREDICATES = {
  cyclonedx: { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 },
  spdx: {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'app',
    documentNamespace: 'https://example.com/spdx/app-1.0.0',
    creationInfo: { created: '2026-01-01T00:00:00Z', creators: ['Tool: signet-test'] },
    packages: [],
  },
  slsaprovenance: {
    buildDefinition: {
      buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
      externalParameters: {
        workflow: { ref: 'refs/tags/v1.0.0', repository: 'https://github.com/o/r', path: '.github/workflows/release.yml' },
      },
      resolvedDependencies: [],
    },
    runDetails: { builder: { id: 'https://github.com/actions/runner' }, metadata: { invocationId: 'run-1' } },
  },
  openvex: {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': 'https://example.com/vex/1',
    author: 'Signet tests',
    timestamp: '2026-01-01T00:00:00Z',
    version: 1,
    statements: [],
  },
} as const;

const TYPE_URIS = {
  cyclonedx: 'https://cyclonedx.org/bom',
  spdx: 'https://spdx.dev/Document',
  slsaprovenance: 'https://slsa.dev/provenance/v1',
  openvex: 'https://openvex.dev/ns',
} as const;

const CUSTOM_TYPE = 'https://example.com/attestations/test-results/v1';

interface Statement {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: unknown;
}

// One P-256 key pair, made once; each test copies it into its own directory.
let keys: string;
beforeAll(() => {
  keys = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cli-attest-keys-'));
  generateKey(keys, 'signing');
});
afterAll(() => {
  if (keys) fs.rmSync(keys, { recursive: true, force: true });
});

function setup(): string {
  const dir = tmp();
  for (const file of ['signing.key', 'signing.pub']) fs.copyFileSync(path.join(keys, file), path.join(dir, file));
  writeFile(dir, 'app.tgz', 'the release tarball\n');
  return dir;
}

const KEY = 'file:signing.key';
const PUB = 'signing.pub';

function statementOf(dir: string, bundleFile: string): Statement {
  const bundle = readJson(dir, bundleFile) as { dsseEnvelope: { payload: string; payloadType: string } };
  expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
}

describe('attest and verify-attestation, for each predicate type', () => {
  test.each(Object.keys(PREDICATES) as (keyof typeof PREDICATES)[])('%s', (type) => {
    const dir = setup();
    writeFile(dir, 'predicate.json', JSON.stringify(PREDICATES[type]));
    const attested = signetOk(['attest', 'app.tgz', '--predicate', 'predicate.json', '--type', type, '--key', KEY], { cwd: dir });
    const bundleFile = `app.tgz.${type}.sigstore.json`;
    expect(attested.stderr).toContain(`wrote ${bundleFile}`);
    expect(readJson(dir, bundleFile).mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');

    const statement = statementOf(dir, bundleFile);
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe(TYPE_URIS[type]);
    expect(statement.predicate).toEqual(PREDICATES[type]);
    expect(statement.subject).toEqual([{ name: 'app.tgz', digest: { sha256: sha256Hex(fs.readFileSync(path.join(dir, 'app.tgz'))) } }]);

    const verified = signet(['verify-attestation', 'app.tgz', '--bundle', bundleFile, '--type', type, '--key', PUB], { cwd: dir });
    expect(verified.stderr).toContain('Verified OK');
    expect(verified.status).toBe(0);

    const json = signet(['verify-attestation', 'app.tgz', '--bundle', bundleFile, '--type', type, '--key', PUB, '--json'], { cwd: dir });
    expect(json.status).toBe(0);
    const printed = JSON.parse(json.stdout) as { ok: boolean; signer: { kind: string }; statement: Statement };
    expect(printed.ok).toBe(true);
    expect(printed.signer.kind).toBe('key');
    expect(printed.statement.predicateType).toBe(TYPE_URIS[type]);
    expect(printed.statement.subject).toEqual(statement.subject);
    expect(printed.statement.subject[0]?.digest.sha256).toMatch(/^[0-9a-f]{64}$/);

    // the type may also be given as its URI
    signetOk(['verify-attestation', 'app.tgz', '--bundle', bundleFile, '--type', TYPE_URIS[type], '--key', PUB], { cwd: dir });
  });

  test('a custom predicate type URI', () => {
    const dir = setup();
    writeFile(dir, 'results.json', JSON.stringify({ passed: 120, failed: 0 }));
    const before = new Set(fs.readdirSync(dir));
    const attested = signetOk(['attest', 'app.tgz', '--predicate', 'results.json', '--type', CUSTOM_TYPE, '--key', KEY, '--json'], {
      cwd: dir,
    });
    const written = fs.readdirSync(dir).filter((name) => !before.has(name));
    expect(written).toHaveLength(1);
    const bundleFile = written[0] as string;
    expect(bundleFile).toMatch(/^app\.tgz\.[^/]+\.sigstore\.json$/);
    const printed = JSON.parse(attested.stdout) as { ok: boolean; bundle: string; predicateType: string };
    expect(printed).toMatchObject({ ok: true, bundle: bundleFile, predicateType: CUSTOM_TYPE });
    expect(statementOf(dir, bundleFile).predicateType).toBe(CUSTOM_TYPE);

    const json = signet(['verify-attestation', 'app.tgz', '--bundle', bundleFile, '--type', CUSTOM_TYPE, '--key', PUB, '--json'], {
      cwd: dir,
    });
    expect(json.status).toBe(0);
    expect((JSON.parse(json.stdout) as { statement: Statement }).statement.predicate).toEqual({ passed: 120, failed: 0 });
  });
});

describe('attest', () => {
  test('several subjects: one bundle, every subject in the statement, each verifies', () => {
    const dir = setup();
    writeFile(dir, 'app.js', 'console.log(1)\n');
    writeFile(dir, 'app.css', 'body{}\n');
    writeFile(dir, 'not-a-subject.js', 'console.log(2)\n');
    writeFile(dir, 'bom.json', JSON.stringify(PREDICATES.cyclonedx));
    const result = signetOk(
      ['attest', 'app.tgz', 'app.js', 'app.css', '--predicate', 'bom.json', '--type', 'cyclonedx', '--key', KEY, '--json'],
      {
        cwd: dir,
      },
    );
    const printed = JSON.parse(result.stdout) as { ok: boolean; bundle: string; subjects: Statement['subject'] };
    expect(printed.ok).toBe(true);
    expect(printed.bundle).toBe('app.tgz.cyclonedx.sigstore.json');
    const expected = ['app.tgz', 'app.js', 'app.css'].map((name) => ({
      name,
      digest: { sha256: sha256Hex(fs.readFileSync(path.join(dir, name))) },
    }));
    expect(printed.subjects).toEqual(expected);
    expect(statementOf(dir, 'app.tgz.cyclonedx.sigstore.json').subject).toEqual(expected);
    // one bundle for all of them
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.sigstore.json'))).toEqual(['app.tgz.cyclonedx.sigstore.json']);

    for (const subject of ['app.tgz', 'app.js', 'app.css']) {
      signetOk(['verify-attestation', subject, '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', PUB], {
        cwd: dir,
      });
    }
    const outsider = signet(
      ['verify-attestation', 'not-a-subject.js', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', PUB],
      { cwd: dir },
    );
    expect(outsider.status).toBe(1);
    expect(singleErrorLine(outsider.stderr).code).toBe('E_SIGNATURE');
  });

  test('--bundle OUT', () => {
    const dir = setup();
    writeFile(dir, 'bom.json', JSON.stringify(PREDICATES.cyclonedx));
    signetOk(['attest', 'app.tgz', '--predicate', 'bom.json', '--type', 'cyclonedx', '--key', KEY, '--bundle', 'sbom.bundle.json'], {
      cwd: dir,
    });
    expect(fs.existsSync(path.join(dir, 'app.tgz.cyclonedx.sigstore.json'))).toBe(false);
    signetOk(['verify-attestation', 'app.tgz', '--bundle', 'sbom.bundle.json', '--type', 'cyclonedx', '--key', PUB], { cwd: dir });
  });

  test.each([
    ['an SPDX document with --type cyclonedx', 'cyclonedx', PREDICATES.spdx],
    ['a CycloneDX BOM with --type spdx', 'spdx', PREDICATES.cyclonedx],
    ['SLSA provenance without runDetails', 'slsaprovenance', { buildDefinition: PREDICATES.slsaprovenance.buildDefinition }],
    ['an OpenVEX document with another @context', 'openvex', { ...PREDICATES.openvex, '@context': 'https://example.com/ns' }],
    ['a JSON array', 'cyclonedx', [PREDICATES.cyclonedx]],
  ])('a predicate that does not match its type (%s): exit 2, E_INPUT, nothing written', (_label, type, predicate) => {
    const dir = setup();
    writeFile(dir, 'predicate.json', JSON.stringify(predicate));
    const before = snapshotDir(dir);
    const result = signet(['attest', 'app.tgz', '--predicate', 'predicate.json', '--type', type, '--key', KEY], { cwd: dir });
    expect(singleErrorLine(result.stderr).code).toBe('E_INPUT');
    expect(result.status).toBe(2);
    expect(snapshotDir(dir)).toEqual(before);
  });

  test.each([
    ['a missing predicate file', ['--predicate', 'missing.json', '--type', 'cyclonedx']],
    ['a predicate that is not JSON', ['--predicate', 'broken.json', '--type', 'cyclonedx']],
    ['an unknown short type name', ['--predicate', 'bom.json', '--type', 'sbom']],
  ])('%s: exit 2, E_INPUT, nothing written', (_label, args) => {
    const dir = setup();
    writeFile(dir, 'bom.json', JSON.stringify(PREDICATES.cyclonedx));
    writeFile(dir, 'broken.json', '{"bomFormat": "CycloneDX",');
    const before = snapshotDir(dir);
    const result = signet(['attest', 'app.tgz', ...args, '--key', KEY], { cwd: dir });
    expect(singleErrorLine(result.stderr).code).toBe('E_INPUT');
    expect(result.status).toBe(2);
    expect(snapshotDir(dir)).toEqual(before);
  });
});

describe('verify-attestation and verify refuse what does not match', () => {
  function attested(): string {
    const dir = setup();
    writeFile(dir, 'bom.json', JSON.stringify(PREDICATES.cyclonedx));
    signetOk(['attest', 'app.tgz', '--predicate', 'bom.json', '--type', 'cyclonedx', '--key', KEY], { cwd: dir });
    return dir;
  }

  test('the wrong --type: exit 1, E_POLICY naming both types', () => {
    const dir = attested();
    const result = signet(
      ['verify-attestation', 'app.tgz', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'spdx', '--key', PUB],
      {
        cwd: dir,
      },
    );
    expect(result.status).toBe(1);
    const error = singleErrorLine(result.stderr);
    expect(error.code).toBe('E_POLICY');
    expect(error.message).toContain('https://cyclonedx.org/bom');
    expect(error.message).toContain('https://spdx.dev/Document');
  });

  test('a plain signature bundle given to verify-attestation: exit 1, E_POLICY', () => {
    const dir = attested();
    signetOk(['sign', 'app.tgz', '--key', KEY], { cwd: dir });
    const result = signet(['verify-attestation', 'app.tgz', '--bundle', 'app.tgz.sigstore.json', '--type', 'cyclonedx', '--key', PUB], {
      cwd: dir,
    });
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).code).toBe('E_POLICY');
  });

  test('plain verify of an attestation bundle against a file that is not a subject: exit 1', () => {
    const dir = attested();
    writeFile(dir, 'other.tgz', 'another tarball\n');
    const result = signet(['verify', 'other.tgz', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--key', PUB], { cwd: dir });
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).code).toBe('E_SIGNATURE');
  });

  test('a tampered subject: exit 1, E_SIGNATURE', () => {
    const dir = attested();
    fs.appendFileSync(path.join(dir, 'app.tgz'), 'more');
    const result = signet(
      ['verify-attestation', 'app.tgz', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', PUB],
      {
        cwd: dir,
      },
    );
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).code).toBe('E_SIGNATURE');
  });

  test('a changed statement (predicate edited after signing): exit 1, E_SIGNATURE', () => {
    const dir = attested();
    const file = path.join(dir, 'app.tgz.cyclonedx.sigstore.json');
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
    statement.predicate = { ...PREDICATES.cyclonedx, version: 2 };
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    fs.writeFileSync(file, JSON.stringify(bundle));
    const result = signet(
      ['verify-attestation', 'app.tgz', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', PUB],
      {
        cwd: dir,
      },
    );
    expect(result.status).toBe(1);
    expect(singleErrorLine(result.stderr).code).toBe('E_SIGNATURE');
  });

  test('by digest: sha256:HEX of a subject verifies', () => {
    const dir = attested();
    const digest = `sha256:${sha256Hex(fs.readFileSync(path.join(dir, 'app.tgz')))}`;
    signetOk(['verify-attestation', digest, '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', PUB], {
      cwd: dir,
    });
  });
});

test.each(['ecdsa-p384', 'ed25519', 'rsa-3072', 'rsa-pss-3072'])(
  'attest → verify-attestation with a %s key from signet key generate',
  (algorithm) => {
    const dir = tmp();
    const { key, pub } = generateKey(dir, 'k', algorithm);
    writeFile(dir, 'app.tgz', 'the release tarball\n');
    writeFile(dir, 'bom.json', JSON.stringify(PREDICATES.cyclonedx));
    signetOk(['attest', 'app.tgz', '--predicate', 'bom.json', '--type', 'cyclonedx', '--key', key], { cwd: dir });
    const result = signet(
      ['verify-attestation', 'app.tgz', '--bundle', 'app.tgz.cyclonedx.sigstore.json', '--type', 'cyclonedx', '--key', pub],
      {
        cwd: dir,
      },
    );
    expect(result.stderr).toContain('Verified OK');
    expect(result.status).toBe(0);
  },
);
