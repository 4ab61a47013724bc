#!/usr/bin/env node
// Builds the webhook's container image with buildah, from scratch and reproducibly: the same
// commit, Node binary, Debian libraries and buildah give the same image digest.
//
//   node apps/admission/image/build.mjs [--out DIR] [--tag TAG] [--node FILE]
//                                       [--push REGISTRY/REPOSITORY:TAG] [--pin DEPLOY_DIR]
//
// The image holds four things and nothing else: the Node binary (by default the one running
// this script), the shared libraries `ldd` says it needs, the webhook bundled by esbuild into one
// file (with @signet/core, @signet/oci and their dependencies), and /etc/passwd and /etc/group
// naming the non-root user 65532. No shell, no package manager, no base image to pull.
//
// What makes it reproducible: every file is written with a fixed mode and owner 0:0, buildah
// stamps every file and the config with SOURCE_DATE_EPOCH (0 when unset) and records no history,
// the layer's tar lists files in sorted order, esbuild's bundle names sources by paths relative
// to the repository, and buildah runs with its own temporary store, whatever the host's
// containers configuration says. The labels name the Node version and the Debian packages of
// the libraries, so a different digest from another machine says why.
//
// --push copies the OCI layout to a registry with skopeo, keeping the digest (plain HTTP and no
// TLS check only for a registry on loopback). --pin writes the pushed name and digest into
// DEPLOY_DIR/kustomization.yaml's `images:` entry for signet-admission, so `kubectl apply -k`
// runs the image by digest. stdout: the image by digest (REGISTRY/REPOSITORY@sha256:…), or its
// digest when not pushed; progress on stderr.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const appDir = path.resolve(here, '..');
const repoRoot = path.resolve(appDir, '../..');

/** The name deploy/deployment.yaml gives the image; kustomization.yaml's `images:` entry replaces it. */
export const IMAGE_PLACEHOLDER = 'signet-admission';
/** The non-root user and group the Deployment runs the webhook as. */
const NONROOT = 65532;
const ENTRYPOINT = ['/usr/local/bin/node', '/app/signet-admission.cjs'];

const USAGE = `usage: node apps/admission/image/build.mjs [--out DIR] [--tag TAG] [--node FILE] [--push REGISTRY/REPOSITORY:TAG] [--pin DEPLOY_DIR]

  --out DIR       the OCI image layout to write (default apps/admission/image/oci; replaced)
  --tag TAG       the tag inside the layout (default: the app's version)
  --node FILE     the Node.js binary to ship (default: the one running this script)
  --push REF      push the image to REGISTRY/REPOSITORY:TAG with skopeo, keeping its digest
  --pin DIR       with --push: set DIR/kustomization.yaml's signet-admission image to the pushed digest
  --json          print what was built as JSON

Needs buildah (apt-get install -y buildah), skopeo for --push, and root (or rootless buildah).
SOURCE_DATE_EPOCH sets the time stamped on every file (default 0).`;

export async function main(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      out: { type: 'string', default: path.join(here, 'oci') },
      tag: { type: 'string' },
      node: { type: 'string', default: process.execPath },
      push: { type: 'string' },
      pin: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.pin && !values.push) throw new Error(`--pin needs --push: a Deployment can only name an image its registry has\n${USAGE}`);
  const built = await buildImage({ out: path.resolve(values.out), tag: values.tag, node: values.node });
  let reference;
  if (values.push) {
    reference = pushImage(built, values.push);
    if (values.pin) await pinDeployment(path.resolve(values.pin), reference);
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ ...built, ...(reference ? { reference } : {}) }, null, 2)}\n`);
  else process.stdout.write(`${reference ?? built.digest}\n`);
}

/**
 * Builds the image into an OCI layout at `out`. Returns its digest, the layout and tag, the
 * layer's size and the labels.
 */
export async function buildImage({ out, tag, node = process.execPath }) {
  const buildah = requireTool('buildah', 'buildah');
  const version = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8')).version;
  tag ??= version;
  const epoch = sourceDateEpoch();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-admission-image-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    const runtime = copyRuntime(fs.realpathSync(node), rootfs);
    await bundleApp(rootfs);
    writeEtc(rootfs);
    normalizeModes(rootfs);

    const labels = {
      'org.opencontainers.image.title': 'signet-admission',
      'org.opencontainers.image.description':
        'Signet admission webhook: admits Pods whose images are signed as the policy says, pinned by digest',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'dev.signet.runtime': runtime,
    };
    replaceLayout(out);
    const store = buildahStore(work);
    const run = (...args) =>
      execFileSync(buildah, [...store.flags, ...args], { env: store.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    log(`building ${out}:${tag} with ${run('--version')}`);
    const container = run('from', '--quiet', 'scratch');
    run('copy', '--quiet', '--chown', '0:0', container, `${rootfs}/`, '/');
    run(
      'config',
      '--entrypoint',
      JSON.stringify(ENTRYPOINT),
      '--user',
      `${NONROOT}:${NONROOT}`,
      '--port',
      '8443/tcp',
      '--workingdir',
      '/app',
      ...Object.entries(labels).flatMap(([name, value]) => ['--label', `${name}=${value}`]),
      container,
    );
    run(
      'commit',
      '--quiet',
      '--rm',
      '--format',
      'oci',
      '--timestamp',
      String(epoch),
      '--omit-history',
      '--identity-label=false',
      '--disable-compression=false',
      container,
      `oci:${out}:${tag}`,
    );
    const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
    const [descriptor] = index.manifests;
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'blobs', ...descriptor.digest.split(':')), 'utf8'));
    const size = manifest.layers.reduce((sum, layer) => sum + layer.size, manifest.config.size + descriptor.size);
    log(`built ${descriptor.digest} (${(size / 2 ** 20).toFixed(1)} MiB compressed)`);
    return { digest: descriptor.digest, layout: out, tag, size, labels };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Copies the layout to REGISTRY/REPOSITORY:TAG with skopeo, keeping the digest, and returns the
 * image by digest (REGISTRY/REPOSITORY@sha256:…). Fails when the registry stored another digest.
 */
export function pushImage(built, destination) {
  const skopeo = requireTool('skopeo', 'skopeo');
  const { name, host } = splitReference(destination);
  const digestFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'signet-admission-push-')), 'digest');
  try {
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
    execFileSync(
      skopeo,
      [
        'copy',
        '--quiet',
        '--preserve-digests',
        '--digestfile',
        digestFile,
        ...(loopback ? ['--dest-tls-verify=false'] : []),
        `oci:${built.layout}:${built.tag}`,
        `docker://${destination}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const pushed = fs.readFileSync(digestFile, 'utf8').trim();
    if (pushed !== built.digest) throw new Error(`${destination} stored ${pushed}, not the ${built.digest} that was built`);
  } finally {
    fs.rmSync(path.dirname(digestFile), { recursive: true, force: true });
  }
  log(`pushed ${destination}`);
  return `${name}@${built.digest}`;
}

/** Sets the `images:` entry for signet-admission in DIR/kustomization.yaml to REGISTRY/REPOSITORY@DIGEST, keeping comments. */
export async function pinDeployment(deployDir, byDigest) {
  const { default: YAML } = await import('yaml');
  const file = path.join(deployDir, 'kustomization.yaml');
  const document = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
  const at = byDigest.lastIndexOf('@');
  const [newName, digest] = [byDigest.slice(0, at), byDigest.slice(at + 1)];
  let images = document.get('images');
  if (!images) {
    document.set('images', document.createNode([]));
    images = document.get('images');
  }
  const entry = images.items.find((item) => item.get('name') === IMAGE_PLACEHOLDER);
  if (entry) {
    entry.set('newName', newName);
    entry.set('digest', digest);
  } else {
    images.add(document.createNode({ name: IMAGE_PLACEHOLDER, newName, digest }));
  }
  fs.writeFileSync(file, document.toString());
  log(`pinned ${path.relative(process.cwd(), file) || file} to ${byDigest}`);
}

/**
 * The Node binary at /usr/local/bin/node and, at the paths its dynamic section names, the
 * libraries ldd resolves for it (the C library, libstdc++, libgcc_s, the loader). Returns what
 * they are, for the label: the Node version and each library's Debian package and version.
 */
function copyRuntime(node, rootfs) {
  const target = path.join(rootfs, 'usr/local/bin/node');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(node, target);
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8', env: {} }).trim();
  const libraries = execFileSync(requireTool('ldd', 'libc-bin'), [node], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter(Boolean)
    .sort();
  if (!libraries.some((library) => /\/libc\.so/.test(library))) {
    throw new Error(`ldd found no C library for ${node}: a statically linked or non-glibc Node is not supported by this build`);
  }
  const packages = new Set();
  for (const library of libraries) {
    const copy = path.join(rootfs, library);
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(fs.realpathSync(library), copy);
    packages.add(debianPackage(library) ?? `${path.basename(library)}@sha256:${sha256(fs.readFileSync(library))}`);
  }
  return [`node ${nodeVersion}`, ...[...packages].sort()].join('; ');
}

/** `libc6 2.36-9+deb12u14` for a file a Debian package installed, else undefined. */
function debianPackage(file) {
  for (const candidate of new Set([file, fs.realpathSync(file)])) {
    try {
      const owner = execFileSync('dpkg-query', ['--search', candidate], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(':')[0]
        .trim();
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax
      const version = execFileSync('dpkg-query', ['--show', '--showformat=${Version}', owner], { encoding: 'utf8' }).trim();
      return `${owner} ${version}`;
    } catch {
      // not this spelling, or not Debian
    }
  }
  return undefined;
}

/** The webhook and its production dependencies as one CommonJS file, /app/signet-admission.cjs, with its licences beside it. */
async function bundleApp(rootfs) {
  const { build } = await import('esbuild');
  await build({
    // Sources are named relative to this directory in the bundle's comments: no host path gets in.
    absWorkingDir: repoRoot,
    stdin: {
      contents: "require('./main').main();\n",
      resolveDir: path.join(appDir, 'src'),
      sourcefile: 'apps/admission/image/entry.js',
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'cjs',
    legalComments: 'linked',
    logLevel: 'warning',
    outfile: path.join(rootfs, 'app/signet-admission.cjs'),
  });
}

/** The user the Deployment runs as, by name, and name lookups from files then DNS. */
function writeEtc(rootfs) {
  const etc = path.join(rootfs, 'etc');
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(
    path.join(etc, 'passwd'),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/tmp:/sbin/nologin\n`,
  );
  fs.writeFileSync(path.join(etc, 'group'), `root:x:0:\nnonroot:x:${NONROOT}:\n`);
  fs.writeFileSync(path.join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  fs.mkdirSync(path.join(rootfs, 'tmp'));
}

/** Modes that do not depend on the umask or the checkout: 0755 for directories, programs and libraries, 0644 else; /tmp 1777. */
function normalizeModes(rootfs) {
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        fs.chmodSync(file, 0o755);
        walk(file);
      } else {
        const executable = file.startsWith(path.join(rootfs, 'usr/local/bin')) || /\.so(\.\d+)*$/.test(entry.name);
        fs.chmodSync(file, executable ? 0o755 : 0o644);
      }
    }
  };
  walk(rootfs);
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
}

/**
 * A store of buildah's own under the build's temporary directory (vfs: no overlay mounts
 * needed), with a storage.conf that ignores the host's, and chroot isolation.
 */
function buildahStore(work) {
  const graphroot = path.join(work, 'storage');
  const runroot = path.join(work, 'run');
  const conf = path.join(work, 'storage.conf');
  fs.writeFileSync(conf, `[storage]\ndriver = "vfs"\ngraphroot = "${graphroot}"\nrunroot = "${runroot}"\n`);
  return {
    flags: ['--root', graphroot, '--runroot', runroot, '--storage-driver', 'vfs'],
    env: { ...process.env, CONTAINERS_STORAGE_CONF: conf, BUILDAH_ISOLATION: 'chroot', TMPDIR: work },
  };
}

/** Removes a previous layout at `out` (only a layout, or an empty directory, is ever removed). */
function replaceLayout(out) {
  if (fs.existsSync(out)) {
    const entries = fs.readdirSync(out);
    if (entries.length > 0 && !entries.includes('oci-layout')) throw new Error(`${out} is not an OCI image layout; not replacing it`);
    fs.rmSync(out, { recursive: true, force: true });
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
}

function sourceDateEpoch() {
  const value = process.env.SOURCE_DATE_EPOCH ?? '0';
  if (!/^\d+$/.test(value)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not "${value}"`);
  return Number(value);
}

/** REGISTRY/REPOSITORY:TAG → its name (REGISTRY/REPOSITORY) and registry host. */
function splitReference(reference) {
  const match = /^([^/]+)\/([^:@]+):([\w][\w.-]{0,127})$/.exec(reference);
  if (!match || !/[.:]|^localhost$/.test(match[1])) throw new Error(`--push wants REGISTRY/REPOSITORY:TAG, not "${reference}"`);
  return { name: `${match[1]}/${match[2]}`, host: match[1] };
}

function requireTool(command, debianPackage) {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/sbin']) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${command} is not installed: apt-get install -y ${debianPackage}`);
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`build.mjs: ${error.message}\n`);
    process.exitCode = 1;
  });
}
