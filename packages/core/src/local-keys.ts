import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import { algorithmForKey, algorithmInfo, type SignatureAlgorithm } from './algorithms';
import { SignetError } from './errors';
import { writeFileAtomic } from './fs-atomic';
import type { KeyRef } from './keyref';
import { signDigest } from './prehash';
import type { CreateKeyOptions, KeyProvider, ProviderOptions } from './provider';
import { publicKeyPem } from './public-key';
import type { Signer } from './signer';

/** The algorithms `signet key generate` creates locally. ECDSA P-256 is the default, as in cosign. */
export const GENERATED_ALGORITHMS = {
  'ecdsa-p256': { type: 'ec', options: { namedCurve: 'P-256' } },
  'ecdsa-p384': { type: 'ec', options: { namedCurve: 'P-384' } },
  'ecdsa-p521': { type: 'ec', options: { namedCurve: 'P-521' } },
  ed25519: { type: 'ed25519', options: {} },
  'rsa-2048': { type: 'rsa', options: { modulusLength: 2048 } },
  'rsa-3072': { type: 'rsa', options: { modulusLength: 3072 } },
  'rsa-4096': { type: 'rsa', options: { modulusLength: 4096 } },
  'rsa-pss-2048': { type: 'rsa-pss', options: rsaPss(2048) },
  'rsa-pss-3072': { type: 'rsa-pss', options: rsaPss(3072) },
  'rsa-pss-4096': { type: 'rsa-pss', options: rsaPss(4096) },
} as const;

/** An RSA-PSS key restricted to SHA-256 with a digest-length salt, so its type says how it signs. */
function rsaPss(modulusLength: number) {
  return { modulusLength, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256', saltLength: 32 } as const;
}

export type GeneratedAlgorithm = keyof typeof GENERATED_ALGORITHMS;

/** Signs with a private key held in this process: a key file or an environment variable. */
export class LocalSigner implements Signer {
  readonly algorithm: SignatureAlgorithm;

  constructor(
    readonly keyId: string,
    private readonly privateKey: KeyObject,
  ) {
    this.algorithm = algorithmForKey(privateKey);
    if (this.algorithm !== 'ed25519') {
      // Ed25519 has no prehashed form in Sigstore; every other algorithm signs digests.
      this.signDigest = async (digest) => signDigest(this.privateKey, this.algorithm, digest);
    }
  }

  readonly signDigest?: (digest: Uint8Array) => Promise<Buffer>;

  async publicKey(): Promise<string> {
    return publicKeyPem(crypto.createPublicKey(this.privateKey));
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    const info = algorithmInfo(this.algorithm);
    if (info.family === 'ed25519') return crypto.sign(null, data, this.privateKey);
    if (info.family === 'rsa-pss') {
      return crypto.sign(info.hash, data, {
        key: this.privateKey,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
      });
    }
    return crypto.sign(info.hash, data, this.privateKey);
  }
}

/** `file:PATH`, or a plain path: a PKCS#8 PEM file, encrypted or (with a warning) not. */
export const fileKeyProvider: KeyProvider = {
  scheme: 'file',

  async open(ref, options = {}) {
    const name = fileKeyName(ref);
    const pem = await readKeyFile(ref.location, name);
    const key = await decodePrivateKey(pem, name, options);
    return new LocalSigner(name, key);
  },

  async create(ref, options = {}) {
    return generateKeyFile(ref, options);
  },
};

/** `env:NAME`: a PEM private key in an environment variable, for CI secrets. */
export const envKeyProvider: KeyProvider = {
  scheme: 'env',

  async open(ref, options = {}) {
    const env = options.env ?? process.env;
    const pem = env[ref.location];
    if (pem === undefined || pem.trim() === '') {
      throw new SignetError({
        code: 'E_KEY_NOT_FOUND',
        message: `environment variable ${ref.location} is not set; put a PEM private key in it`,
      });
    }
    const key = await decodePrivateKey(pem, `env:${ref.location}`, options);
    return new LocalSigner(`env:${ref.location}`, key);
  },
};

/** `file:PATH` as it may be printed, whether the user wrote the scheme or a plain path. */
function fileKeyName(ref: KeyRef): string {
  return ref.display.startsWith('file:') ? ref.display : `file:${ref.display}`;
}

async function readKeyFile(path: string, name: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (cause) {
    // Node's own message quotes the path as it was given; only the code travels.
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new SignetError({
        code: 'E_KEY_NOT_FOUND',
        message: `key file ${name.slice('file:'.length)} does not exist; create one with: signet key generate --key ${name}`,
        cause: new Error(`cannot read the key file (${code})`),
      });
    }
    throw new SignetError({
      code: 'E_KEY',
      message: `key file ${name.slice('file:'.length)} cannot be read (${code === 'EISDIR' ? 'it is a directory' : (code ?? 'unknown error')})`,
      cause: new Error(`cannot read the key file (${code ?? 'unknown error'})`),
    });
  }
}

const ENCRYPTED = '-----BEGIN ENCRYPTED PRIVATE KEY-----';

/** Decodes a PEM private key, asking for a passphrase only when the key is encrypted. */
export async function decodePrivateKey(pem: string, name: string, options: ProviderOptions): Promise<KeyObject> {
  if (pem.includes('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----') || pem.includes('-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----')) {
    throw new SignetError({
      code: 'E_KEY',
      message: `${name} is a cosign-format key (scrypt + secretbox); Signet reads PKCS#8 PEM: generate one with signet key generate or openssl genpkey`,
    });
  }
  if (!pem.includes('PRIVATE KEY-----')) {
    throw new SignetError({
      code: 'E_KEY',
      message: `${name} holds no PEM private key${pem.includes('PUBLIC KEY-----') ? ' (it is a public key, which can verify but not sign)' : ''}`,
    });
  }
  const encrypted = pem.includes(ENCRYPTED);
  const passphrase = encrypted ? await passphraseFor(name, options) : undefined;
  try {
    const key = crypto.createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
    algorithmForKey(key);
    // Warn only about a key that is otherwise usable, so a bad key gets one line: its error.
    if (!encrypted) {
      options.onWarning?.(
        `${name} is not encrypted; anyone who can read it can sign as you. Protect it with a passphrase (signet key generate) or keep it in a KMS.`,
      );
    }
    return key;
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    throw new SignetError({
      code: 'E_KEY',
      message: encrypted ? `wrong passphrase for ${name} (or the key is corrupt)` : `${name} is not a readable PEM private key`,
      cause: scrub(cause),
    });
  }
}

async function passphraseFor(name: string, options: ProviderOptions): Promise<string> {
  if (options.passphrase !== undefined) return options.passphrase;
  const fromEnv = (options.env ?? process.env).SIGNET_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (options.promptPassphrase) return options.promptPassphrase(`Passphrase for ${name}: `);
  throw new SignetError({
    code: 'E_KEY',
    message: `${name} is encrypted; set SIGNET_PASSWORD or run on a terminal to be asked for the passphrase`,
  });
}

/** OpenSSL's error text can echo input; keep only its code so nothing secret travels in `cause`. */
function scrub(cause: unknown): Error {
  const code = (cause as NodeJS.ErrnoException).code;
  return new Error(`key decoding failed${code ? ` (${code})` : ''}`);
}

async function generateKeyFile(ref: KeyRef, options: CreateKeyOptions): Promise<string> {
  const path = ref.location;
  const requested = options.algorithm ?? 'ecdsa-p256';
  if (!Object.hasOwn(GENERATED_ALGORITHMS, requested)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `cannot generate "${requested}" keys; choose one of ${Object.keys(GENERATED_ALGORITHMS).join(', ')}`,
    });
  }
  const spec = GENERATED_ALGORITHMS[requested as GeneratedAlgorithm];
  const publicPath = publicKeyPathFor(path);
  // Check both targets before doing anything, so a refused run writes neither.
  if (!options.force) {
    for (const target of [path, publicPath]) {
      if (
        await fs.stat(target).then(
          () => true,
          () => false,
        )
      ) {
        throw new SignetError({ code: 'E_EXISTS', message: `${target} already exists; pass --force to replace it` });
      }
    }
  }
  let passphrase = options.passphrase ?? (options.env ?? process.env).SIGNET_PASSWORD;
  if (passphrase === undefined && options.promptPassphrase) {
    passphrase = await options.promptPassphrase(`Passphrase for the new key ${path}: `);
  }
  if (passphrase === undefined) {
    throw new SignetError({
      code: 'E_INPUT',
      message: 'set SIGNET_PASSWORD (or run on a terminal) to encrypt the new key; SIGNET_PASSWORD="" writes it unencrypted',
    });
  }
  if (passphrase === '') options.onWarning?.(`writing ${path} unencrypted because the passphrase is empty`);
  const { privateKey, publicKey } = crypto.generateKeyPairSync(
    spec.type as 'ec',
    spec.options as crypto.ECKeyPairOptions<'pem', 'pem'>,
  ) as unknown as {
    privateKey: KeyObject;
    publicKey: KeyObject;
  };
  const privatePem = privateKey.export(
    passphrase === '' ? { type: 'pkcs8', format: 'pem' } : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
  );
  const publicPem = publicKeyPem(publicKey);
  await writeFileAtomic(path, privatePem, { mode: 0o600, overwrite: Boolean(options.force) });
  await writeFileAtomic(publicPath, publicPem, { mode: 0o644, overwrite: Boolean(options.force) });
  return publicPem;
}

/** `signing.key` → `signing.pub`; anything else gets `.pub` appended (as cosign names its pair). */
export function publicKeyPathFor(privatePath: string): string {
  return privatePath.endsWith('.key') ? `${privatePath.slice(0, -4)}.pub` : `${privatePath}.pub`;
}
