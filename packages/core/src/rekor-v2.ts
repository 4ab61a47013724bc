import crypto, { type KeyObject } from 'node:crypto';
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { PublicKeyDetails, TransparencyLogEntry as TransparencyLogEntryCodec } from '@sigstore/protobuf-specs';
import { CreateEntryRequest, Entry } from '@sigstore/protobuf-specs/rekor/v2';
import { algorithmInfo, type SignatureAlgorithm } from './algorithms';
import { SignetError } from './errors';
import { SigstoreService } from './sigstore-transport';
import type { TransportOptions, Witness } from './witness';

/*
 * Rekor v2 (rekor-tiles) as it is today, in Signet's own client because @sigstore/sign 4.x's is
 * wrong for it: that one logs DSSE as a `dsse` entry (rekor-tiles removed the type), labels every
 * key ECDSA P-256 and sends every verifier as a certificate. Here every signature, message or
 * DSSE, is a hashedrekord 0.0.2 request (a DSSE envelope's over the digest of its
 * pre-authentication encoding, with the envelope's signature), its keyDetails read from the key
 * and the signer's algorithm, its verifier the key itself or the certificate. The answer is the
 * TransparencyLogEntry to embed; it is checked to be the entry for this signature.
 */

/** A v2 upload waits for the log to integrate the entry: clients allow at least this long. */
export const REKOR_V2_MIN_TIMEOUT_MS = 20_000;

const ENTRY_KIND = 'hashedrekord';
const ENTRY_VERSION = '0.0.2';

/**
 * Sigstore's PublicKeyDetails for a signature by `key` with `algorithm`, as rekor-tiles accepts
 * them (its allowed set since #927: ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, RSA PKCS#1
 * v1.5 at 2048/3072/4096 bits with SHA-256, Ed25519ph), or a clear refusal before anything is sent:
 * pure Ed25519, RSA-PSS, RSA over SHA-384/512 or of another size.
 */
export function rekorKeyDetails(algorithm: SignatureAlgorithm, key: KeyObject): PublicKeyDetails {
  const info = algorithmInfo(algorithm);
  const details = key.asymmetricKeyDetails ?? {};
  const mismatch = () =>
    new SignetError({
      code: 'E_INTERNAL',
      message: `the signer says ${algorithm}, but its key is ${key.asymmetricKeyType} ${details.namedCurve ?? details.modulusLength ?? ''}`,
    });
  switch (info.family) {
    case 'ed25519':
      throw new SignetError({
        code: 'E_USAGE',
        message:
          'Rekor v2 refuses pure Ed25519 signatures (it logs Ed25519ph, which an Ed25519 key here does not sign); use an ECDSA or RSA key, log in Rekor v1 (--rekor-version 1), or sign without a log entry',
      });
    case 'ecdsa': {
      const expected = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' }[info.curve as string];
      if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== expected) throw mismatch();
      return {
        'ecdsa-p256-sha256': PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
        'ecdsa-p384-sha384': PublicKeyDetails.PKIX_ECDSA_P384_SHA_384,
        'ecdsa-p521-sha512': PublicKeyDetails.PKIX_ECDSA_P521_SHA_512,
      }[algorithm as 'ecdsa-p256-sha256'];
    }
    case 'rsa-pss':
      throw new SignetError({
        code: 'E_USAGE',
        message:
          'Rekor v2 refuses RSA-PSS signatures (rekor-tiles logs RSA as PKCS#1 v1.5 only); use an RSA PKCS#1 v1.5 or ECDSA key, log in Rekor v1 (--rekor-version 1), or sign without a log entry',
      });
    case 'rsa-pkcs1v15': {
      if (key.asymmetricKeyType !== 'rsa') throw mismatch();
      const bits = details.modulusLength ?? 0;
      const table: Record<number, PublicKeyDetails> = {
        2048: PublicKeyDetails.PKIX_RSA_PKCS1V15_2048_SHA256,
        3072: PublicKeyDetails.PKIX_RSA_PKCS1V15_3072_SHA256,
        4096: PublicKeyDetails.PKIX_RSA_PKCS1V15_4096_SHA256,
      };
      if (info.hash !== 'sha256' || table[bits] === undefined) {
        throw new SignetError({
          code: 'E_USAGE',
          message: `Rekor v2 logs RSA signatures over SHA-256 with 2048-, 3072- or 4096-bit keys only; this signer signs ${algorithm} with a ${bits}-bit key. Log in Rekor v1 (--rekor-version 1), or sign without a log entry`,
        });
      }
      return table[bits] as PublicKeyDetails;
    }
  }
}

/** What a hashedrekord 0.0.2 request logs for a bundle's content: the digest and the signature over it. */
export function hashedRekordContent(content: Bundle['content'], algorithm: SignatureAlgorithm): { digest: Buffer; signature: Buffer } {
  const hash = algorithmInfo(algorithm).hash;
  if (content.$case === 'messageSignature') {
    const { messageDigest, signature } = content.messageSignature;
    if (messageDigest.digest.length !== crypto.createHash(hash).digest().length) {
      throw new SignetError({ code: 'E_INTERNAL', message: `the message digest is not a ${hash} digest, which ${algorithm} signs` });
    }
    return { digest: messageDigest.digest, signature };
  }
  const envelope = content.dsseEnvelope;
  const [only] = envelope.signatures;
  if (envelope.signatures.length !== 1 || !only) {
    throw new SignetError({ code: 'E_INTERNAL', message: 'a DSSE envelope to log must carry exactly one signature' });
  }
  const pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  return { digest: crypto.createHash(hash).update(pae).digest(), signature: only.sig };
}

/** Records signatures in a Rekor v2 log: a Witness @sigstore/sign's bundle builders call. */
export class RekorV2Witness implements Witness {
  private readonly service: SigstoreService;

  constructor(
    readonly baseURL: string,
    private readonly algorithm: SignatureAlgorithm,
    transport: TransportOptions,
  ) {
    this.service = new SigstoreService('Rekor', baseURL, {
      ...transport,
      timeoutMs: Math.max(REKOR_V2_MIN_TIMEOUT_MS, transport.timeoutMs),
    });
  }

  async testify(content: Bundle['content'], publicKey: string): Promise<{ tlogEntries: TransparencyLogEntry[] }> {
    const certificate = publicKey.includes('-----BEGIN CERTIFICATE-----') ? new crypto.X509Certificate(publicKey) : undefined;
    const key = certificate ? certificate.publicKey : crypto.createPublicKey(publicKey);
    const keyDetails = rekorKeyDetails(this.algorithm, key);
    const { digest, signature } = hashedRekordContent(content, this.algorithm);
    const request = CreateEntryRequest.toJSON({
      spec: {
        $case: 'hashedRekordRequestV002',
        hashedRekordRequestV002: {
          digest,
          signature: {
            content: signature,
            verifier: {
              keyDetails,
              verifier: certificate
                ? { $case: 'x509Certificate', x509Certificate: { rawBytes: certificate.raw } }
                : { $case: 'publicKey', publicKey: { rawBytes: key.export({ type: 'spki', format: 'der' }) } },
            },
          },
        },
      },
    });
    const answer = await this.service.json('/api/v2/log/entries', request);
    return { tlogEntries: [this.checkedEntry(answer, digest, signature)] };
  }

  /** The log's answer, refused unless it is a hashedrekord 0.0.2 entry for this digest and signature, with an inclusion proof. */
  private checkedEntry(answer: unknown, digest: Buffer, signature: Buffer): TransparencyLogEntry {
    const refuse = (why: string, cause?: unknown) =>
      new SignetError({ code: 'E_PROVIDER', message: `Rekor (${this.baseURL}) answered with ${why}; nothing was written`, cause });
    let entry: ReturnType<typeof TransparencyLogEntryCodec.fromJSON>;
    let body: Entry;
    try {
      entry = TransparencyLogEntryCodec.fromJSON(answer);
      body = Entry.fromJSON(JSON.parse(entry.canonicalizedBody.toString('utf8')));
    } catch (cause) {
      throw refuse('something other than a transparency-log entry', cause);
    }
    if (
      entry.kindVersion?.kind !== ENTRY_KIND ||
      entry.kindVersion.version !== ENTRY_VERSION ||
      body.kind !== ENTRY_KIND ||
      body.apiVersion !== ENTRY_VERSION
    ) {
      throw refuse(`a ${entry.kindVersion?.kind ?? '?'} ${entry.kindVersion?.version ?? '?'} entry, not ${ENTRY_KIND} ${ENTRY_VERSION}`);
    }
    const logged = body.spec?.spec?.$case === 'hashedRekordV002' ? body.spec.spec.hashedRekordV002 : undefined;
    if (!logged?.data?.digest.equals(digest) || !logged.signature?.content.equals(signature)) {
      throw refuse('an entry for another signature');
    }
    if (!entry.inclusionProof?.checkpoint?.envelope) throw refuse('an entry without an inclusion proof and checkpoint');
    if (!entry.logId) throw refuse('an entry without a log id');
    return entry as TransparencyLogEntry;
  }
}
