// What the gate's tests share: keys, signed artifacts of each kind, policy files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  createAttestation,
  createStatement,
  type GatePolicy,
  type GateVerdict,
  gate,
  LocalSigner,
  loadGatePolicy,
  PREDICATE_TYPES,
  publicKeyPem,
  signArtifact,
  signDirectory,
  signStatement,
  writeBundle,
} from '../../src';
export function keyPair(type: 'ec' | 'ed25519' = 'ec') {
  const { privateKey, publicKey } =
    type === 'ec' ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) : crypto.generateKeyPairSync('ed25519');
  return { signer: new LocalSigner(`${type}-key`, privateKey), pem: publicKeyPem(publicKey) };
}

export const release = keyPair();
export const other = keyPair();
export const edwards = keyPair('ed25519');
export const CYCLONEDX = PREDICATE_TYPES.cyclonedx as string;
export const SPDX = PREDICATE_TYPES.spdx as string;
export const SBOM = { bomFormat: 'CycloneDX', specVersion: '1.6', components: [] };
export const SPDX_DOC = { spdxVersion: 'SPDX-2.3', name: 'app' };

/** A file under `dir`, its parents made. */
export function put(dir: string, name: string, content: string | Uint8Array): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

export async function sign(file: string, signer = release.signer): Promise<void> {
  await writeBundle(`${file}.sigstore.json`, await signArtifact({ path: file }, signer));
}

/** `signet attest`'s layout: FILE.<suffix>.sigstore.json, a statement about FILE. */
export async function attest(
  file: string,
  predicateType: string,
  predicate: unknown,
  signer = release.signer,
  suffix = 'sbom',
): Promise<string> {
  const statement = await createAttestation([{ path: file, name: path.basename(file) }], predicateType, predicate);
  const bundlePath = `${file}.${suffix}.sigstore.json`;
  await writeBundle(bundlePath, await signStatement(statement, signer));
  return bundlePath;
}

/** An npm tarball signed as @signet/npm signs one: a statement naming pkg:npm/NAME@VERSION with its sha512. */
export async function npmTarball(dir: string, name = 'app-1.0.0.tgz', purl = 'pkg:npm/%40acme/app@1.0.0'): Promise<string> {
  const file = put(dir, name, zlib.gzipSync(crypto.randomBytes(4096)));
  const sha512 = crypto.createHash('sha512').update(fs.readFileSync(file)).digest('hex');
  const statement = createStatement([{ name: purl, digest: { sha512 } }], 'https://signet.dev/npm-release/v1', { integrity: 'sha512-…' });
  await writeBundle(`${file}.sigstore.json`, await signStatement(statement, release.signer));
  return file;
}

/** A zip's first bytes, then enough data that it is hashed on a worker thread. */
export function zipBytes(size = 3 * 1024 * 1024): Buffer {
  return Buffer.concat([Buffer.from('PK\x03\x04'), crypto.randomBytes(size)]);
}

export async function webBuild(dir: string, name = 'dist'): Promise<string> {
  const out = path.join(dir, name);
  put(out, 'index.html', '<script src="assets/app.js"></script>');
  put(out, 'assets/app.js', 'console.log("app")');
  put(out, 'assets/big.bin', crypto.randomBytes(2 * 1024 * 1024));
  await signDirectory(out, release.signer);
  return out;
}

export function writePolicy(dir: string, policy: string | object, name = 'policy.yaml'): string {
  fs.mkdirSync(path.join(dir, 'keys'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'keys/release.pub'), release.pem);
  fs.writeFileSync(path.join(dir, 'keys/other.pub'), other.pem);
  fs.writeFileSync(path.join(dir, 'keys/edwards.pub'), edwards.pem);
  return put(dir, name, typeof policy === 'string' ? policy : JSON.stringify(policy, null, 2));
}

export const KEYS = `
version: 1
keys:
  release: { publicKey: keys/release.pub }
  other: { publicKey: keys/other.pub }
  edwards: { publicKey: keys/edwards.pub }
`;

export async function policyFrom(dir: string, rules: string): Promise<GatePolicy> {
  return loadGatePolicy(writePolicy(dir, `${KEYS}rules:\n${rules}`));
}

/** gate() run with cwd = dir, so artifact paths are relative as in a deploy script. */
export async function gateIn(dir: string, artifacts: string[], policy: GatePolicy, concurrency?: number): Promise<GateVerdict[]> {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return await gate(artifacts, policy, { concurrency, trustedRoot: () => Promise.reject(new Error('no trusted root is needed here')) });
  } finally {
    process.chdir(cwd);
  }
}
