// The webhook's own image, as an operator ships it: built by image/build.mjs with Debian's
// buildah from scratch, built a second time (under another umask) to the same digest, pushed
// with skopeo to Debian's docker-registry, signed and verified with the real `signet image`
// commands, run with `buildah run` to answer AdmissionReviews over HTTPS, and pinned into a
// copy of deploy/ by digest.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import {
  buildTestImage,
  pushImage,
  type RunningRegistry,
  registryToolsAvailable,
  startDockerRegistry,
} from '@signet/emulators/oci-registry';
import { signetAsync } from '@signet/test-support';
import YAML from 'yaml';
import type { AdmissionReviewResponse } from '../src';
import { decodePatch, fixture, SERVICE_HOST, servingCertificate } from './support';

const APP = path.resolve(__dirname, '..');
const BUILD = path.join(APP, 'image/build.mjs');
const REPOSITORY = 'signet/admission';
const TAG = '0.1.0';

function toolPath(command: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/sbin']) {
    const candidate = path.join(dir, command);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

const buildah = toolPath('buildah');
const kubectl = toolPath('kubectl');
const tools = registryToolsAvailable();
const missing = [
  ...(buildah ? [] : ['buildah (Debian package buildah)']),
  ...(tools.dockerRegistry ? [] : ['docker-registry (Debian package docker-registry)']),
  ...(tools.skopeo ? [] : ['skopeo (Debian package skopeo)']),
];
if (missing.length > 0)
  console.warn(`the webhook's image: skipped, not installed: ${missing.join(', ')}; apt-get install -y buildah docker-registry skopeo`);
const describeWithBuildah = missing.length > 0 ? describe.skip : describe;

interface Built {
  digest: string;
  layout: string;
  tag: string;
  size: number;
  labels: Record<string, string>;
  reference?: string;
}

/** Runs build.mjs as an operator does, with a umask of its own; resolves to its --json output. */
function build(args: string[], umask: string): Promise<Built> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, BUILD, ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status === 0) resolve(JSON.parse(stdout) as Built);
      else reject(new Error(`build.mjs ${args.join(' ')} exited ${status}\n${stderr}`));
    });
  });
}

/** A blob of an OCI layout, by digest. */
function blob(layout: string, digest: string): Buffer {
  return fs.readFileSync(path.join(layout, 'blobs', ...digest.split(':')));
}

describeWithBuildah("the webhook's image", () => {
  let dir: string;
  let registry: RunningRegistry;
  let first: Built;
  let second: Built;
  let deployDir: string;
  let release: { key: string; pub: string };
  const name = () => `${registry.host}/${REPOSITORY}`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-admission-image-'));
    registry = await startDockerRegistry();
    deployDir = path.join(dir, 'deploy');
    fs.cpSync(path.join(APP, 'deploy'), deployDir, { recursive: true });
    const push = `${name()}:${TAG}`;
    first = await build(['--out', path.join(dir, 'first'), '--tag', TAG, '--push', push, '--pin', deployDir], '022');
    second = await build(['--out', path.join(dir, 'second'), '--tag', TAG], '077');
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    release = {
      key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      pub: path.join(dir, 'release.pub'),
    };
    fs.writeFileSync(release.pub, publicKey.export({ type: 'spki', format: 'pem' }));
    // Two builds take ~10 s alone; with the whole suite on 2 shared cores, minutes.
  }, 600_000);

  afterAll(async () => {
    await registry?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is the same image, to the byte, when built again from the same commit', () => {
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second.digest).toBe(first.digest);
    const manifest = JSON.parse(blob(first.layout, first.digest).toString('utf8'));
    for (const descriptor of [manifest.config, ...manifest.layers]) {
      expect(blob(second.layout, descriptor.digest).equals(blob(first.layout, descriptor.digest))).toBe(true);
    }
    const config = JSON.parse(blob(first.layout, manifest.config.digest).toString('utf8'));
    expect(config).toMatchObject({
      created: '1970-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { User: '65532:65532', Entrypoint: ['/usr/local/bin/node', '/app/signet-admission.cjs'], ExposedPorts: { '8443/tcp': {} } },
    });
    expect(config.history).toBeUndefined();
    expect(config.config.Labels['dev.signet.runtime']).toMatch(new RegExp(`^node ${process.version.replace(/\./g, '\\.')}(; |$)`));
  });

  it('holds Node, its libraries and the bundled webhook, owned by root and stamped 1970, and nothing else', () => {
    const manifest = JSON.parse(blob(first.layout, first.digest).toString('utf8'));
    expect(manifest.layers).toHaveLength(1);
    const [layer] = manifest.layers;
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const listing = execFileSync(
      'tar',
      ['-tzv', '--numeric-owner', '--full-time', '-f', path.join(first.layout, 'blobs', ...layer.digest.split(':'))],
      {
        encoding: 'utf8',
        env: { ...process.env, TZ: 'UTC' },
      },
    )
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/));
    for (const [, owner, , date, time] of listing) expect(`${owner} ${date} ${time}`).toBe('0/0 1970-01-01 00:00:00');
    const files = listing.filter(([mode]) => !mode?.startsWith('d')).map((fields) => fields[5]);
    const libraries = execFileSync('ldd', [fs.realpathSync(process.execPath)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => /(?:=>\s*)?\/(\S+)\s+\(0x/.exec(line)?.[1])
      .filter((library): library is string => library !== undefined);
    expect(files.sort()).toEqual(
      [
        'app/signet-admission.cjs',
        'app/signet-admission.cjs.LEGAL.txt',
        'etc/group',
        'etc/nsswitch.conf',
        'etc/passwd',
        'usr/local/bin/node',
        ...libraries,
      ].sort(),
    );
    expect(listing.find((fields) => fields[5] === 'tmp/')?.[0]).toBe('drwxrwxrwt');
  });

  it('is pushed with the digest it was built with, and pinned by it in deploy/', async () => {
    expect(first.reference).toBe(`${name()}@${first.digest}`);
    const response = await fetch(`${registry.url}/v2/${REPOSITORY}/manifests/${TAG}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(first.digest);

    const kustomization = YAML.parse(fs.readFileSync(path.join(deployDir, 'kustomization.yaml'), 'utf8'));
    expect(kustomization.images).toEqual([{ name: 'signet-admission', newName: name(), digest: first.digest }]);
    // The Deployment names the image by the name kustomize replaces, as the committed kustomization does.
    const deployment = YAML.parseAllDocuments(fs.readFileSync(path.join(deployDir, 'deployment.yaml'), 'utf8'))
      .map((document) => document.toJS())
      .find((document) => document.kind === 'Deployment');
    expect(deployment.spec.template.spec.containers.map((container: { image: string }) => container.image)).toEqual(['signet-admission']);
    const committed = YAML.parse(fs.readFileSync(path.join(APP, 'deploy/kustomization.yaml'), 'utf8'));
    expect(committed.images).toEqual([expect.objectContaining({ name: 'signet-admission' })]);
  });

  (kubectl ? it : it.skip)('renders, with kubectl kustomize, a Deployment that runs the image by digest', () => {
    const rendered = YAML.parseAllDocuments(execFileSync(kubectl as string, ['kustomize', deployDir], { encoding: 'utf8' })).map(
      (document) => document.toJS(),
    );
    const deployment = rendered.find((document) => document.kind === 'Deployment');
    expect(deployment.spec.template.spec.containers.map((container: { image: string }) => container.image)).toEqual([
      `${name()}@${first.digest}`,
    ]);
  });
  if (!kubectl) console.warn("the webhook's image: rendering deploy/ skipped, not installed: kubectl (for kubectl kustomize)");

  it('is signed with signet image sign and verified with signet image verify, by tag and by the key only', async () => {
    const env = { SIGNET_TEST_KEY: release.key, DOCKER_CONFIG: path.join(dir, 'docker') };
    const byDigest = `${name()}@${first.digest}`;
    const unsigned = await signetAsync(['image', 'verify', byDigest, '--key', release.pub], { cwd: dir, env });
    expect(unsigned.status).toBe(1);
    expect(unsigned.stderr).toContain('E_UNSIGNED');

    const signed = await signetAsync(['image', 'sign', byDigest, '--key', 'env:SIGNET_TEST_KEY'], { cwd: dir, env });
    expect({ status: signed.status, stdout: signed.stdout.trim() }).toEqual({ status: 0, stdout: byDigest });
    const verified = await signetAsync(['image', 'verify', `${name()}:${TAG}`, '--key', release.pub, '--json'], { cwd: dir, env });
    expect(verified.status).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, reference: byDigest });

    const { publicKey: other } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(path.join(dir, 'other.pub'), other.export({ type: 'spki', format: 'pem' }));
    const stranger = await signetAsync(['image', 'verify', byDigest, '--key', path.join(dir, 'other.pub')], { cwd: dir, env });
    expect(stranger.status).toBe(1);
  });

  it('runs the webhook as its Deployment does: it admits its own image by tag, pinned to the digest, and denies an unsigned one', async () => {
    // The policy and the serving certificate, mounted read-only as the Deployment mounts them, readable by user 65532.
    const etc = path.join(dir, 'etc');
    fs.mkdirSync(etc, { mode: 0o755 });
    const tls = servingCertificate();
    fs.writeFileSync(path.join(etc, 'tls.crt'), tls.cert, { mode: 0o644 });
    fs.writeFileSync(path.join(etc, 'tls.key'), tls.key, { mode: 0o644 });
    fs.copyFileSync(release.pub, path.join(etc, 'release.pub'));
    fs.chmodSync(path.join(etc, 'release.pub'), 0o644);
    fs.writeFileSync(
      path.join(etc, 'policy.yaml'),
      `version: 1\nkeys:\n  release: { publicKey: release.pub }\nrules:\n  - { kind: image, match: '${registry.host}/signet/**', signers: [release] }\n`,
      { mode: 0o644 },
    );
    const layout = fs.mkdtempSync(path.join(dir, 'layout-'));
    const unsigned = await pushImage(await buildTestImage(layout), registry, 'signet/unsigned', 'v1');

    const manifest = JSON.parse(blob(first.layout, first.digest).toString('utf8'));
    const { config } = JSON.parse(blob(first.layout, manifest.config.digest).toString('utf8'));
    const store = ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'vfs'];
    // Pulled from the registry by digest, as the kubelet pulls what the Deployment names.
    const container = execFileSync(
      buildah as string,
      [...store, 'from', '--quiet', '--tls-verify=false', `docker://${name()}@${first.digest}`],
      { encoding: 'utf8', env: { ...process.env, BUILDAH_ISOLATION: 'chroot' } },
    ).trim();
    const webhook = spawn(
      buildah as string,
      [
        ...store,
        'run',
        '--isolation',
        'chroot',
        '--user',
        config.User,
        '--volume',
        `${etc}:/etc/signet:ro`,
        container,
        '--',
        ...config.Entrypoint,
        '--policy=/etc/signet/policy.yaml',
        '--tls-cert=/etc/signet/tls.crt',
        '--tls-key=/etc/signet/tls.key',
        '--host=127.0.0.1',
        '--port=0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const port = await listeningPort(webhook);
      const review = (image: string) => {
        const body = JSON.parse(fixture('pod-create'));
        const spec = body.request.object.spec;
        spec.initContainers = [];
        spec.containers = [{ name: 'webhook', image }];
        return JSON.stringify(body);
      };
      const admitted = await postReview(port, tls.cert, '/mutate?timeout=15s', review(`${name()}:${TAG}`));
      expect(admitted.response).toMatchObject({ uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01', allowed: true });
      expect(decodePatch(admitted)).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `${name()}:${TAG}@${first.digest}` },
      ]);
      const denied = await postReview(port, tls.cert, '/validate?timeout=15s', review(unsigned));
      expect(denied.response).toMatchObject({ allowed: false, status: { code: 403 } });
      expect(denied.response.status?.message).toMatch(new RegExp(`^${unsigned.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: E_UNSIGNED: `));
    } finally {
      webhook.kill('SIGTERM');
      if (webhook.exitCode === null) await new Promise((resolve) => webhook.once('exit', resolve));
      execFileSync(buildah as string, [...store, 'rm', container], { stdio: 'ignore' });
    }
    // Pulling ~100 MiB into buildah's store and starting Node: seconds alone, longer under load.
  }, 180_000);
});

/** The port the webhook logged as listening on (its first line), or its stderr when it stopped instead. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((text) => text.includes('"listening"'));
      if (line) resolve(JSON.parse(line).port as number);
    });
    child.once('exit', (status) => reject(new Error(`the webhook in the image exited ${status} before listening\n${stdout}\n${stderr}`)));
  });
}

/** POSTs a review as the API server does: HTTPS to the Service's name, trusting the caBundle. */
function postReview(port: number, ca: string, urlPath: string, body: string): Promise<AdmissionReviewResponse> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
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
            expect(response.statusCode).toBe(200);
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReviewResponse);
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
