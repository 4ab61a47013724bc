// Image references respelled to dodge a rule, and images Kubernetes pulls that a check could
// miss. Each attack runs through the built `signet` CLI, @signet/oci's verifyImageForPolicy,
// or the admission webhook answering a real AdmissionReview over HTTPS, against images pushed
// with skopeo to Debian's docker-registry on 127.0.0.1.
//
// The policy every attack meets: images under REGISTRY/acme/ must be signed by `release`;
// every other image by `team`, a weaker signer. The images are signed by `team` only, so an
// image under acme/ passes only if a respelling of its name slips it past the acme/ rule.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createAdmissionServer } from '@signet/admission';
import { emptyTrustedRoot, LocalSigner, loadGatePolicy, publicKeyPem } from '@signet/core';
import {
  buildTestImage,
  describeWithRegistryTools,
  pushImage,
  type RunningRegistry,
  startDockerRegistry,
} from '@signet/emulators/oci-registry';
import { RegistryClient, signImage, verifyImageForPolicy } from '@signet/oci';
import { opensslCertificate, type RunResult, signetAsync, singleErrorLine } from '@signet/test-support';

const SERVICE_HOST = 'signet-admission.signet-system.svc';
const trustedRoot = async () => emptyTrustedRoot();

function keyPair(name: string) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: new LocalSigner(name, privateKey), pem: publicKeyPem(publicKey) };
}

const release = keyPair('release');
const team = keyPair('team');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-attacks-registry-'));
  fs.writeFileSync(path.join(dir, 'release.pub'), release.pem);
  fs.writeFileSync(path.join(dir, 'team.pub'), team.pem);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A policy file in the shared folder: `strict` (a match glob) needs release, everything else team. */
function writePolicy(name: string, strict: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    `version: 1
keys:
  release: { publicKey: release.pub }
  team: { publicKey: team.pub }
rules:
  - { kind: image, match: '${strict}', signers: [release] }
  - { kind: image, match: '**', signers: [team] }
`,
  );
  return file;
}

function cli(args: string[]): Promise<RunResult> {
  return signetAsync(args, { cwd: dir, env: { DOCKER_CONFIG: path.join(dir, 'docker') } });
}

/** The single error line of a run that must fail, with its exit status. */
function refusal(result: RunResult): { status: number | null; code: string; message: string } {
  if (result.status === 0) throw new Error(`expected a refusal, got exit 0: ${result.stdout.trim()} ${result.stderr.trim()}`);
  return { status: result.status, ...singleErrorLine(result.stderr) };
}

describeWithRegistryTools('image references respelled to dodge a rule', () => {
  let registry: RunningRegistry;
  let port: string;
  /** acme/shop:v1, signed by team only. */
  let digest: string;

  beforeAll(async () => {
    registry = await startDockerRegistry();
    port = registry.host.split(':')[1] as string;
    const layout = fs.mkdtempSync(path.join(dir, 'layout-'));
    const image = await buildTestImage(layout);
    await pushImage(image, registry, 'acme/shop', 'v1');
    digest = image.digest;
    await signImage(`${registry.host}/acme/shop@${digest}`, team.signer);
  });

  afterAll(() => registry?.stop());

  it('the image as named is held to the acme/ rule and refused (the baseline every respelling must meet)', async () => {
    const policy = writePolicy('baseline.yaml', `${registry.host}/acme/**`);
    expect(refusal(await cli(['image', 'verify', `${registry.host}/acme/shop:v1`, '--policy', policy]))).toMatchObject({
      status: 1,
      code: 'E_SIGNATURE',
    });
  });

  // Each spelling reaches the same registry (Node's fetch reads them all as 127.0.0.1:PORT).
  it.each([
    ['a port with a leading zero', (p: string) => `127.0.0.1:0${p}`],
    ['an IPv4-mapped IPv6 address', (p: string) => `[::ffff:7f00:1]:${p}`],
    ['a trailing dot', (p: string) => `127.0.0.1.:${p}`],
  ])('signet image verify --policy: %s is the same registry and meets the same rule (exit 1, E_SIGNATURE)', async (_, spelling) => {
    const policy = writePolicy('respelled.yaml', `${registry.host}/acme/**`);
    const image = `${spelling(port)}/acme/shop:v1`;
    const result = refusal(await cli(['image', 'verify', image, '--policy', policy, '--allow-http-registry']));
    expect(result).toMatchObject({ status: 1, code: 'E_SIGNATURE' });
    expect(result.message).toContain(image);
  });

  it('signet image verify --policy: an upper-case host is the same registry and meets the same rule (exit 1, E_SIGNATURE)', async () => {
    const policy = writePolicy('localhost.yaml', `localhost:${port}/acme/**`);
    const result = refusal(await cli(['image', 'verify', `LOCALHOST:${port}/acme/shop:v1`, '--policy', policy, '--allow-http-registry']));
    expect(result).toMatchObject({ status: 1, code: 'E_SIGNATURE' });
  });

  it('signet image verify --policy: a numeric host other than dotted decimal (127.1) is refused as ambiguous (exit 2)', async () => {
    const policy = writePolicy('numeric.yaml', `${registry.host}/acme/**`);
    const result = refusal(await cli(['image', 'verify', `127.1:${port}/acme/shop:v1`, '--policy', policy, '--allow-http-registry']));
    expect(result).toMatchObject({ status: 2, code: 'E_INPUT' });
    expect(result.message).toContain('dotted-decimal');
  });

  it('signet image verify --policy: port 80 is refused, since whether it names the registry depends on the puller (exit 2)', async () => {
    const policy = writePolicy('port80.yaml', `${registry.host}/acme/**`);
    const result = refusal(await cli(['image', 'verify', `127.0.0.1:80/acme/shop@${digest}`, '--policy', policy]));
    expect(result).toMatchObject({ status: 2, code: 'E_INPUT' });
    expect(result.message).toContain('port 80');
  });

  it('a rule respelled in the policy (a leading-zero port) is normalised when loaded, so it still covers its images', async () => {
    const policy = writePolicy('rule-respelled.yaml', `127.0.0.1:0${port}/acme/**`);
    const result = refusal(await cli(['image', 'verify', `${registry.host}/acme/shop:v1`, '--policy', policy]));
    expect(result).toMatchObject({ status: 1, code: 'E_SIGNATURE' });
  });

  it('a rule no normalised name can match (an upper-case host) is refused when the policy is loaded (exit 2)', async () => {
    const policy = writePolicy('rule-upper.yaml', `LOCALHOST:${port}/acme/**`);
    const result = refusal(await cli(['image', 'verify', `localhost:${port}/acme/shop:v1`, '--policy', policy]));
    expect(result).toMatchObject({ status: 2, code: 'E_INPUT' });
    expect(result.message).toMatch(/rules\[0\]\.match: "LOCALHOST:\d+\/acme\/\*\*" can never match/);
  });

  it('verifyImageForPolicy: the verdict names the acme/ rule and pins the canonical reference', async () => {
    const policy = await loadGatePolicy(writePolicy('api.yaml', `${registry.host}/acme/**`));
    const client = new RegistryClient({ allowHttp: () => true });
    const respelled = await verifyImageForPolicy(`127.0.0.1:0${port}/acme/shop:v1`, policy, { client, trustedRoot });
    expect(respelled).toMatchObject({ ok: false, rule: 0, code: 'E_SIGNATURE' });
    // Where the rule is met, what runs is the one canonical spelling.
    const teamPolicy = await loadGatePolicy(writePolicy('api-team.yaml', `${registry.host}/other/**`));
    const admitted = await verifyImageForPolicy(`127.0.0.1:0${port}/acme/shop:v1`, teamPolicy, { client, trustedRoot });
    expect(admitted).toMatchObject({ ok: true, rule: 1, pinned: `${registry.host}/acme/shop:v1@${digest}` });
  });

  describe('the admission webhook', () => {
    let server: https.Server;
    let tls: { key: string; cert: string };

    beforeAll(async () => {
      tls = opensslCertificate(`DNS:${SERVICE_HOST}`);
      server = createAdmissionServer({
        policy: await loadGatePolicy(writePolicy('webhook.yaml', `${registry.host}/acme/**`)),
        tls,
        trustedRoot,
        log: () => undefined,
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('denies a pod whose image respells the registry with a leading-zero port', async () => {
      const answer = await review(
        server,
        tls.cert,
        '/mutate',
        podReview({ containers: [{ name: 'web', image: `127.0.0.1:0${port}/acme/shop:v1` }] }),
      );
      expect(answer).toMatchObject({ allowed: false, status: { code: 403, message: expect.stringContaining('E_SIGNATURE') } });
    });
  });
});

describeWithRegistryTools('images a Pod makes Kubernetes pull', () => {
  let registry: RunningRegistry;
  let server: https.Server;
  let tls: { key: string; cert: string };
  let signed: { ref: string; digest: string };
  let unsigned: string;

  beforeAll(async () => {
    registry = await startDockerRegistry();
    const push = async (repository: string) => {
      const image = await buildTestImage(fs.mkdtempSync(path.join(dir, 'layout-')));
      return { ref: await pushImage(image, registry, repository, 'v1'), digest: image.digest };
    };
    signed = await push('acme/app');
    await signImage(`${registry.host}/acme/app@${signed.digest}`, release.signer);
    unsigned = (await push('acme/unsigned')).ref;
    tls = opensslCertificate(`DNS:${SERVICE_HOST}`);
    server = createAdmissionServer({
      policy: await loadGatePolicy(writePolicy('pulls.yaml', `${registry.host}/acme/**`)),
      tls,
      trustedRoot,
      log: () => undefined,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await registry.stop();
  });

  it('denies a pod that mounts an unsigned image as a volume (spec.volumes[].image.reference)', async () => {
    const spec = { containers: [{ name: 'web', image: signed.ref }], volumes: [{ name: 'data', image: { reference: unsigned } }] };
    for (const endpoint of ['/mutate', '/validate']) {
      const answer = await review(server, tls.cert, endpoint, podReview(spec));
      expect(answer).toMatchObject({ allowed: false, status: { code: 403, message: expect.stringContaining(`${unsigned}: E_UNSIGNED`) } });
    }
  });

  it('pins a signed image volume to its digest, as it pins containers', async () => {
    const spec = {
      containers: [{ name: 'web', image: `${signed.ref}@${signed.digest}` }],
      volumes: [{ name: 'data', image: { reference: signed.ref } }],
    };
    const answer = await review(server, tls.cert, '/mutate', podReview(spec));
    expect(answer.allowed).toBe(true);
    expect(JSON.parse(Buffer.from(answer.patch as string, 'base64').toString('utf8'))).toEqual([
      { op: 'replace', path: '/spec/volumes/0/image/reference', value: `${signed.ref}@${signed.digest}` },
    ]);
  });

  it.each([
    ['a string', 'data'],
    ['a reference that is not a string', { reference: 42 }],
  ])('denies a pod whose image volume is malformed (%s), with code 400', async (_, image) => {
    const spec = { containers: [{ name: 'web', image: `${signed.ref}@${signed.digest}` }], volumes: [{ name: 'data', image }] };
    const answer = await review(server, tls.cert, '/validate', podReview(spec));
    expect(answer).toMatchObject({ allowed: false, status: { code: 400, message: expect.stringContaining('/spec/volumes/0/image') } });
  });

  it.each([
    ['a Deployment', { group: 'apps', kind: 'Deployment' }, (spec: object) => ({ spec: { template: { spec } } })],
    ['a ReplicationController', { group: '', kind: 'ReplicationController' }, (spec: object) => ({ spec: { template: { spec } } })],
    ['a PodTemplate', { group: '', kind: 'PodTemplate' }, (spec: object) => ({ template: { spec } })],
  ])('denies %s whose pod template pulls an unsigned image, as a container or a volume', async (_, kind, object) => {
    for (const spec of [
      { containers: [{ name: 'web', image: unsigned }] },
      { containers: [{ name: 'web', image: signed.ref }], volumes: [{ name: 'data', image: { reference: unsigned } }] },
    ]) {
      const answer = await review(server, tls.cert, '/validate', admissionReview(kind, object(spec)));
      expect(answer).toMatchObject({ allowed: false, status: { code: 403, message: expect.stringContaining(`${unsigned}: E_UNSIGNED`) } });
    }
  });
});

describe('signet policy export: respellings meet the same rule in Kyverno and policy-controller', () => {
  const hostile = [
    ['an upper-case host', 'GHCR.io/acme/shop'],
    ['the HTTPS port', 'ghcr.io:443/acme/shop'],
    ['a trailing dot', 'ghcr.io./acme/shop'],
    ['a port with a leading zero', 'ghcr.io:0443/acme/shop'],
    ['Docker Hub by another name', 'registry-1.docker.io/acme/shop'],
  ];
  const DIGEST = `sha256:${'ab'.repeat(32)}`;

  /** `signet policy export` of a policy whose acme/ repositories on ghcr.io and Docker Hub need release. */
  async function exported(flag: string): Promise<{ documents: Record<string, unknown>[]; stderr: string }> {
    fs.writeFileSync(
      path.join(dir, 'export.yaml'),
      `version: 1
keys:
  release: { publicKey: release.pub }
  team: { publicKey: team.pub }
rules:
  - { kind: image, match: ['ghcr.io/acme/**', 'docker.io/acme/**'], signers: [release] }
  - { kind: image, match: '**', signers: [team] }
`,
    );
    const result = await cli(['policy', 'export', 'export.yaml', flag]);
    expect(result.status).toBe(0);
    const yaml = require('yaml') as typeof import('yaml');
    return { documents: yaml.parseAllDocuments(result.stdout).map((d) => d.toJS()), stderr: result.stderr };
  }

  it.each(hostile)('Kyverno ClusterPolicy: %s (%s) is denied, or held to the release rule', async (_, name) => {
    const { documents } = await exported('--kyverno-clusterpolicy');
    const rules = (documents[0] as { spec: { rules: KyvernoRule[] } }).spec.rules;
    for (const image of [`${name}:1.0`, `${name}@${DIGEST}`]) {
      const denied = rules.some((rule) => kyvernoDenies(rule, image));
      const strict = rules.find((rule) => rule.name === 'image-rule-0')?.verifyImages?.[0];
      const heldToRelease = strict !== undefined && kyvernoMatches(strict.imageReferences, image);
      expect([image, denied || heldToRelease]).toEqual([image, true]);
    }
  });

  it.each(hostile)('Kyverno ImageValidatingPolicy: %s (%s) is denied before any rule is applied', async (_, name) => {
    const { documents } = await exported('--kyverno');
    const [respelled] = (documents[0] as { spec: { validations: { expression: string }[] } }).spec.validations;
    for (const image of [`${name}:1.0`, `${name}@${DIGEST}`])
      expect([image, celDenies(respelled?.expression ?? '', image)]).toEqual([image, true]);
  });

  it.each(hostile)('policy-controller: %s (%s) is denied, or held to the release rule', async (_, name) => {
    const { documents } = await exported('--policy-controller');
    const image = `${name}@${DIGEST}`;
    const matching = documents.filter((document) =>
      (document as { spec: { images: { glob: string }[] } }).spec.images.some(({ glob }) => policyControllerMatches(glob, image)),
    ) as { metadata: { name: string }; spec: { authorities: object[] } }[];
    const denied = matching.some((cip) =>
      cip.spec.authorities.some((a) => JSON.stringify(a) === JSON.stringify({ static: { action: 'fail' } })),
    );
    const heldToRelease = matching.some((cip) => cip.metadata.name === 'signet-images-rule-0');
    expect([image, denied || heldToRelease]).toEqual([image, true]);
  });

  it('Kyverno verifies image volumes too; policy-controller, which cannot, says so', async () => {
    const ivp = (await exported('--kyverno')).documents[0] as {
      spec: { images: { expression: string }[]; variables: { expression: string }[] };
    };
    expect(ivp.spec.images).toEqual([
      expect.objectContaining({ name: 'imageVolumes', expression: expect.stringContaining('v.image.reference') }),
    ]);
    expect(ivp.spec.variables[0]?.expression).toContain('images.imageVolumes');
    const kyverno = await exported('--kyverno-clusterpolicy');
    const verify = (kyverno.documents[0] as { spec: { rules: KyvernoRule[] } }).spec.rules.filter((rule) => rule.verifyImages);
    expect(verify.length).toBeGreaterThan(0);
    for (const rule of verify) {
      expect(rule.imageExtractors?.Pod).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: '/spec/volumes/*/image/reference' })]),
      );
    }
    const policyController = await exported('--policy-controller');
    expect(policyController.stderr).toMatch(/image volumes/);
  });
});

// Kyverno and policy-controller, as far as the exported policies use them.

interface KyvernoRule {
  name: string;
  validate?: { foreach?: { list: string; deny?: { conditions?: { any?: { key: string; operator: string; value: unknown }[] } } }[] };
  imageExtractors?: Record<string, { path: string }[]>;
  verifyImages?: { imageReferences: string[] }[];
}

/** Kyverno's wildcard.Match: * any run of characters, ? one. */
function kyvernoMatches(patterns: string[], image: string): boolean {
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')
        .replaceAll('?', '.')}$`,
    ).test(image),
  );
}

/**
 * Whether a validate rule's foreach denies a Pod whose container runs this image: each
 * condition is `{{ regex_match('RE', …) }}` (Go's RE2 syntax, which these expressions share
 * with JavaScript's), optionally `&& !regex_match('RE2', …)`.
 */
function kyvernoDenies(rule: KyvernoRule, image: string): boolean {
  return (rule.validate?.foreach ?? []).some((each) =>
    (each.deny?.conditions?.any ?? []).some((condition) => {
      const tests = [...condition.key.matchAll(/(!?)regex_match\('((?:[^'\\]|\\.)*)'/g)];
      if (tests.length === 0) throw new Error(`not a regex_match condition: ${condition.key}`);
      const value = tests.every(([, not, re]) => new RegExp(re as string).test(image) !== (not === '!'));
      return condition.operator === 'Equals' && value === condition.value;
    }),
  );
}

/**
 * Whether the ImageValidatingPolicy's respelled-reference validation,
 * `variables.imageReferences.all(image, !(image.matches(r'RE') || … || (image.matches(r'RE') && !image.matches(r'RE'))))`,
 * denies this image (RE2 syntax, which these expressions share with JavaScript's).
 */
function celDenies(expression: string, image: string): boolean {
  const body = /^variables\.imageReferences\.all\(image, !\((.*)\)\)$/.exec(expression)?.[1];
  if (body === undefined) throw new Error(`not the respelled-reference validation: ${expression}`);
  const matches = (re: string) => new RegExp(re).test(image);
  return body.split(' || ').some((term) => {
    const both = /^\(image\.matches\(r'([^']*)'\) && !image\.matches\(r'([^']*)'\)\)$/.exec(term);
    if (both) return matches(both[1] as string) && !matches(both[2] as string);
    const one = /^image\.matches\(r'([^']*)'\)$/.exec(term);
    if (!one) throw new Error(`not a matches() term: ${term}`);
    return matches(one[1] as string);
  });
}

/** policy-controller's glob: * is [^/]*, ** is .* (pkg/apis/glob). */
function policyControllerMatches(glob: string, image: string): boolean {
  return new RegExp(`^${glob.replaceAll('.', '\\.').replaceAll('**', '#').replaceAll('*', '[^/]*').replaceAll('#', '.*')}$`).test(image);
}

// AdmissionReviews, as the API server sends them.

function admissionReview(kind: { group: string; kind: string }, object: object): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: crypto.randomUUID(),
      kind: { ...kind, version: 'v1' },
      operation: 'CREATE',
      namespace: 'shop',
      object: { kind: kind.kind, metadata: { name: 'shop' }, ...object },
    },
  });
}

function podReview(spec: object): string {
  return admissionReview({ group: '', kind: 'Pod' }, { spec });
}

/** POSTs a review to the webhook over HTTPS, as the API server does, and returns its response. */
function review(
  server: https.Server,
  ca: string,
  endpoint: string,
  body: string,
): Promise<{ allowed: boolean; status?: { code: number; message: string }; patch?: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path: endpoint,
        method: 'POST',
        ca,
        servername: SERVICE_HOST,
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')).response);
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
