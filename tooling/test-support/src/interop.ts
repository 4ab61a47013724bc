import { spawnSync } from 'node:child_process';
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Artifact, type Bundle, createVerifier, type Policy, type Verified, type VerifierOptions } from '@signet/core';
import { bundleFromJSON } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

/*
 * Checks by software that is not Signet: a signature Signet made must satisfy openssl and
 * @sigstore/verify on their own.
 */

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  ctlogs: [],
  certificateAuthorities: [],
  timestampAuthorities: [],
};

/** @sigstore/verify, used directly with the public key as its only trust: throws if it refuses. */
export function sigstoreVerify(bundleJson: unknown, artifact: Buffer, publicKeyPem: string): void {
  const publicKey = crypto.createPublicKey(publicKeyPem);
  const trust = toTrustMaterial(EMPTY_ROOT, () => ({ publicKey, validFor: () => true }));
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
    toSignedEntity(bundleFromJSON(bundleJson), artifact),
  );
}

/** What a bundle's signature covers: the artifact for a message signature, the PAE for DSSE. */
export function signedBytes(bundleJson: unknown, artifact: Buffer): { signed: Buffer; signature: Buffer } {
  const bundle = bundleFromJSON(bundleJson);
  if (bundle.content.$case === 'messageSignature') return { signed: artifact, signature: bundle.content.messageSignature.signature };
  const envelope = bundle.content.dsseEnvelope;
  return {
    signed: dsse.preAuthEncoding(envelope.payloadType, envelope.payload),
    signature: envelope.signatures[0]?.sig ?? Buffer.alloc(0),
  };
}

/**
 * `openssl dgst -verify` (or `pkeyutl -verify -rawin` for Ed25519) over what the bundle
 * signs, with the exported public key. PSS is tried when the key is RSA and PKCS#1 fails,
 * since an RSA SPKI does not say which padding a KMS key signed with.
 */
export function opensslVerify(bundleJson: unknown, artifact: Buffer, publicKeyPem: string): boolean {
  const { signed, signature } = signedBytes(bundleJson, artifact);
  const key: KeyObject = crypto.createPublicKey(publicKeyPem);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-openssl-'));
  try {
    fs.writeFileSync(path.join(dir, 'key.pub'), publicKeyPem);
    fs.writeFileSync(path.join(dir, 'data'), signed);
    fs.writeFileSync(path.join(dir, 'sig'), signature);
    const run = (args: string[]) => spawnSync('openssl', args, { cwd: dir }).status === 0;
    if (key.asymmetricKeyType === 'ed25519') {
      return run(['pkeyutl', '-verify', '-pubin', '-inkey', 'key.pub', '-rawin', '-in', 'data', '-sigfile', 'sig']);
    }
    const hashes = opensslHashes(bundleJson, key);
    const paddings = key.asymmetricKeyType === 'rsa' ? [[], ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:-2']] : [[]];
    return hashes.some((hash) =>
      paddings.some((padding) => run(['dgst', `-${hash}`, ...padding, '-verify', 'key.pub', '-signature', 'sig', 'data'])),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function opensslHashes(bundleJson: unknown, key: KeyObject): string[] {
  const bundle = bundleFromJSON(bundleJson);
  if (bundle.content.$case === 'messageSignature') {
    return [['sha256', 'sha256', 'sha384', 'sha512'][bundle.content.messageSignature.messageDigest.algorithm] ?? 'sha256'];
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === 'secp384r1' ? ['sha384', 'sha256'] : curve === 'secp521r1' ? ['sha512', 'sha256'] : ['sha256', 'sha384', 'sha512'];
}

/**
 * A self-signed P-256 serving certificate made by openssl, as operators are told to make one:
 * `subjectAltName` is `DNS:NAME` or `IP:ADDRESS`. PEM key and certificate.
 */
export function opensslCertificate(subjectAltName: `DNS:${string}` | `IP:${string}`): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-tls-'));
  try {
    const key = path.join(dir, 'tls.key');
    const cert = path.join(dir, 'tls.crt');
    const name = subjectAltName.slice(subjectAltName.indexOf(':') + 1);
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];
    const made = spawnSync('openssl', [
      ...args,
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=${subjectAltName}`,
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr?.toString() || made.error?.message}`);
    return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What `openssl ts -reply -text` reads from an RFC 3161 timestamp response (DER). */
export interface OpensslTimestamp {
  time: Date;
  /** The token's serial number (negative where a test TSA wrote one without its sign byte; OpenSSL prints 0x-…). */
  serialNumber: bigint;
  /** The TSA's name as OpenSSL prints it (`DirName:/O=…/CN=…`), when the token names one. */
  tsa?: string;
}

export function opensslTimestamp(der: Uint8Array): OpensslTimestamp {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-ts-'));
  try {
    fs.writeFileSync(path.join(dir, 'response.tsr'), der);
    const read = spawnSync('openssl', ['ts', '-reply', '-in', 'response.tsr', '-text'], { cwd: dir, encoding: 'utf8' });
    if (read.status !== 0) throw new Error(`openssl ts failed: ${read.stderr || read.error?.message}`);
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(read.stdout)?.[1];
    const time = field('Time stamp');
    const serial = field('Serial number');
    if (!time || !serial) throw new Error(`openssl ts printed no time or serial:\n${read.stdout}`);
    const tsa = field('TSA');
    return {
      time: new Date(time),
      serialNumber: serial.startsWith('0x-') ? -BigInt(`0x${serial.slice(3)}`) : BigInt(serial),
      ...(tsa && tsa !== 'unspecified' ? { tsa } : {}),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether a serial Signet prints (the INTEGER's bytes in hex, without a sign byte) is the number
 * OpenSSL read. A test TSA may write a negative serial (0xdeadbeef without its sign byte), which
 * OpenSSL prints as 0x-21524111: its bytes are the two's complement at the printed width.
 */
export function sameSerial(hex: string, openssl: bigint): boolean {
  return BigInt(`0x${hex}`) === (openssl < 0n ? BigInt.asUintN(hex.length * 4, openssl) : openssl);
}

/** Signet's own verifier, called the way tests most often need it: one bundle, one policy. */
export function verifyBundle(
  bundle: Bundle,
  artifact: Artifact,
  policy: Policy,
  options: Omit<VerifierOptions, 'policy'> = {},
): Promise<Verified> {
  return createVerifier({ ...options, policy }).verify(bundle, artifact);
}
