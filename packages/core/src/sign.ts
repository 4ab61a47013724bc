import crypto from 'node:crypto';
import { type Bundle, toMessageSignatureBundle } from '@sigstore/bundle';
import { HashAlgorithm as ProtoHashAlgorithm } from '@sigstore/protobuf-specs';
import type { Artifact as SigstoreArtifact, Signature as SigstoreSignature } from '@sigstore/sign';
import { algorithmInfo, type HashAlgorithm } from './algorithms';
import { digestBytes, digestFile, type ProgressListener, readRegularFile, readSmallFile } from './digest';
import { SignetError } from './errors';
import { publicKeyHint } from './public-key';
import type { Signer } from './signer';
import { rekorLogsOf, type SigstoreServices, scrubTokens, sigstoreFailure, tsaURLsOf, witnessesFor } from './sigstore-services';
import { INTOTO_PAYLOAD_TYPE, type Statement } from './statement';
import type { Witness } from './witness';

export interface SignOptions {
  /**
   * Record the signature in Rekor. Keyless signatures always are (a certificate's
   * identity is only worth something with a trusted time); a key signature is complete,
   * and offline, without it.
   */
  tlogUpload?: boolean;
  /** Add an RFC 3161 timestamp (the default when a TSA URL is given). */
  timestamp?: boolean;
  /** Which Fulcio, Rekor and TSA: public-good unless given (see readSigningConfig). */
  services?: SigstoreServices;
  /** Further witnesses, for callers with their own (any @sigstore/sign Witness). */
  witnesses?: Witness[];
  onProgress?: ProgressListener;
  /**
   * Called with each bundle once it is signed (and logged), before it is returned: how a
   * caller keeps a ledger of what it signed (see ledger.ts). A failure here fails the signing call.
   */
  onSigned?: (bundle: Bundle) => Promise<void> | void;
}

/** What to sign: a file (streamed, never read whole) or bytes already in memory. */
export type SignInput = { path: string } | { bytes: Uint8Array };

type Bundlers = Pick<typeof import('@sigstore/sign'), 'DSSEBundleBuilder' | 'MessageSignatureBundleBuilder'>;
let bundlers: Bundlers | undefined;
/**
 * @sigstore/sign's bundle builders. Its index also loads Fulcio, Rekor and TSA clients and
 * an HTTP stack (about 190 modules), which signing with a key never uses, so only the
 * bundler directory is loaded here; the Rekor and TSA clients load when a signature is
 * witnessed.
 */
function sigstore(): Bundlers {
  bundlers ??= require('@sigstore/sign/dist/bundler') as Bundlers;
  return bundlers;
}

/**
 * Signs an artifact into a Sigstore bundle v0.3 with a message signature. The artifact
 * is hashed once, streaming, with the signer's hash; the signer signs that digest
 * (one remote call for a KMS). Ed25519, which signs whole messages, reads the file.
 */
export async function signArtifact(input: SignInput, signer: Signer, options: SignOptions = {}): Promise<Bundle> {
  if ('bytes' in input && input.bytes.length === 0) {
    throw new SignetError({ code: 'E_INPUT', message: 'the artifact is empty; there is nothing to sign' });
  }
  const hash = algorithmInfo(signer.algorithm).hash;
  // A small artifact is signed from memory (one native call); a large one is hashed once,
  // streaming, and its digest signed. Ed25519 has no digest form and always reads the bytes.
  const bytes = 'bytes' in input ? Buffer.from(input.bytes) : await readSmallFile(input.path);
  const digest = bytes
    ? digestBytes(bytes, [hash])[hash]
    : (await digestFile((input as { path: string }).path, [hash], { onProgress: options.onProgress })).digests[hash];
  if (!digest) throw new SignetError({ code: 'E_INTERNAL', message: 'digest not computed' });
  if (
    hash !== 'sha256' &&
    (options.tlogUpload ?? signer.certificate !== undefined) &&
    rekorLogsOf(options.services ?? {}).some((log) => log.version === 1)
  ) {
    // @sigstore/sign writes Rekor v1 hashedrekord entries with SHA-256 digests only (v2 takes the key's own hash).
    throw new SignetError({
      code: 'E_USAGE',
      message: `a message signature over a ${hash} digest (${signer.algorithm}) cannot be logged in Rekor v1; use a P-256 or RSA key, log in Rekor v2 (--rekor-version 2), or sign an attestation`,
    });
  }
  // Settle what witnesses the signature before asking anything of a remote service.
  const witnesses = witnessesOf(signer, options);
  const signDigest = bytes ? undefined : signer.signDigest?.bind(signer);
  const data = signDigest ? digest : (bytes ?? (await readRegularFile((input as { path: string }).path)));
  const keyMaterial = await keyMaterialOf(signer);
  const { MessageSignatureBundleBuilder } = sigstore();

  // @sigstore/sign's builder always digests the artifact with SHA-256 itself; this one
  // packages the digest we streamed, with its real algorithm.
  class DigestMessageBundleBuilder extends MessageSignatureBundleBuilder {
    protected override async package(_artifact: SigstoreArtifact, signature: SigstoreSignature) {
      const bundle = toMessageSignatureBundle({
        digest: digest as Buffer,
        signature: signature.signature,
        certificate: signature.key.$case === 'x509Certificate' ? pemToDer(signature.key.certificate) : undefined,
        keyHint: signature.key.$case === 'publicKey' ? signature.key.hint : undefined,
        certificateChain: false,
      });
      bundle.content.messageSignature.messageDigest.algorithm = PROTO_HASH[hash];
      return bundle;
    }
  }

  const builder = new DigestMessageBundleBuilder({
    signer: adapt(keyMaterial, (bytes) => (signDigest ? signDigest(bytes) : signer.sign(bytes))),
    witnesses,
  });
  return createBundle(() => builder.create({ data }), signer, options);
}

/**
 * Signs many artifacts, a few at a time: one signature (one KMS call) per artifact, with
 * the remote calls overlapping so a thousand small files are not a thousand round trips
 * in a row. Results are in input order; the first failure rejects the whole batch.
 */
export async function signArtifacts(
  inputs: readonly SignInput[],
  signer: Signer,
  options: SignOptions & { concurrency?: number } = {},
): Promise<Bundle[]> {
  const bundles: Bundle[] = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < inputs.length; i = next++) {
      bundles[i] = await signArtifact(inputs[i] as SignInput, signer, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, inputs.length) }, worker));
  return bundles;
}

/** Signs an in-toto statement into a Sigstore bundle v0.3 with a DSSE envelope. */
export async function signStatement(statement: Statement, signer: Signer, options: SignOptions = {}): Promise<Bundle> {
  const witnesses = witnessesOf(signer, options);
  const keyMaterial = await keyMaterialOf(signer);
  const { DSSEBundleBuilder } = sigstore();
  const builder = new DSSEBundleBuilder({
    signer: adapt(keyMaterial, (pae) => signer.sign(pae)),
    witnesses,
  });
  const payload = Buffer.from(JSON.stringify(statement));
  return createBundle(() => builder.create({ data: payload, type: INTOTO_PAYLOAD_TYPE }), signer, options);
}

const PROTO_HASH: Record<HashAlgorithm, ProtoHashAlgorithm> = {
  sha256: ProtoHashAlgorithm.SHA2_256,
  sha384: ProtoHashAlgorithm.SHA2_384,
  sha512: ProtoHashAlgorithm.SHA2_512,
};

type KeyMaterial = SigstoreSignature['key'];

// A thousand artifacts signed with one key need its hint computed once, not a thousand times.
const keyMaterials = new WeakMap<Signer, Promise<KeyMaterial>>();

function keyMaterialOf(signer: Signer): Promise<KeyMaterial> {
  // A keyless signer's certificate is issued per signature; never cache it.
  if (signer.certificate) return signer.certificate().then((certificate) => ({ $case: 'x509Certificate', certificate }));
  let material = keyMaterials.get(signer);
  if (!material) {
    material = signer.publicKey().then((publicKey) => ({ $case: 'publicKey', publicKey, hint: publicKeyHint(publicKey) }));
    keyMaterials.set(signer, material);
    material.catch(() => keyMaterials.delete(signer));
  }
  return material;
}

/** Our Signer as @sigstore/sign's: the same signature, labelled with its key material. */
function adapt(key: KeyMaterial, sign: (data: Buffer) => Promise<Buffer>) {
  return { sign: async (data: Buffer) => ({ signature: await sign(data), key }) };
}

function witnessesOf(signer: Signer, options: SignOptions): Witness[] {
  const services = options.services ?? {};
  const keyless = signer.certificate !== undefined;
  const tlog = options.tlogUpload ?? keyless;
  const tsa = options.timestamp ?? tsaURLsOf(services).length > 0;
  if (keyless && !tlog && !tsa) {
    throw new SignetError({
      code: 'E_USAGE',
      message:
        'a keyless signature needs a transparency-log entry or a timestamp to be verifiable; keep the Rekor upload or give --tsa-url',
    });
  }
  return [...witnessesFor(services, { tlog, tsa, algorithm: signer.algorithm }), ...(options.witnesses ?? [])];
}

async function createBundle(create: () => Promise<Bundle>, signer: Signer, options: SignOptions): Promise<Bundle> {
  let bundle: Bundle;
  try {
    bundle = await create();
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    const services = options.services ?? {};
    if ((cause as { code?: string }).code?.match(/^(TLOG|TSA|CA)_/)) {
      throw sigstoreFailure(cause, {
        rekor: rekorLogsOf(services)
          .map((log) => log.url)
          .join(', '),
        tsa: tsaURLsOf(services).join(', '),
        fulcio: services.fulcioURL,
      });
    }
    throw new SignetError({
      code: 'E_PROVIDER',
      message: `signing with ${signer.keyId} failed: ${scrubTokens((cause as Error).message)}`,
      cause,
    });
  }
  await options.onSigned?.(bundle);
  return bundle;
}

function pemToDer(pem: string): Buffer {
  return new crypto.X509Certificate(pem).raw;
}
