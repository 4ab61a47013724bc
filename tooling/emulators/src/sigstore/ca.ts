import crypto, { type KeyObject, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
// Deep imports: the package's index also loads nock, which would patch Node's http for the whole process.
import { initializeCA, initializeCTLog } from '@sigstore/mock/dist/fulcio';
import type { CA, ExtensionValue } from '@sigstore/mock/dist/fulcio/ca';

/** Who a certificate is for: Fulcio's subject alternative name. */
export type Identity = { kind: 'email'; value: string } | { kind: 'uri'; value: string };

/** Node's WebCrypto, as @peculiar/x509 types its provider. */
export const x509Crypto = crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0];
const LEAF_VALIDITY_MS = 10 * 60 * 1000;
const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';

/**
 * Fulcio's certificate authority: @sigstore/mock's root CA and CT log, issuing short-lived
 * code-signing certificates with an embedded SCT. The mock CA only writes URI SANs, so leaf
 * certificates are issued here (as the mock does, plus email SANs), signed by the mock's root key.
 */
export class CertificateAuthority {
  /**
   * When leaf certificates start (relative to now) and how long they live: ten minutes
   * from now, as Fulcio issues them. Tests move the window into the past to get a
   * certificate that has expired by the time the log sees its signature.
   */
  leafWindow = { startOffsetMs: 0, lifetimeMs: LEAF_VALIDITY_MS };

  /**
   * What a leaf may be used for: a code-signing end entity, as Fulcio issues them. Tests
   * mis-issue (another extended key usage, none, a CA flag) to check that verifiers refuse it.
   */
  leafProfile: { extendedKeyUsages: string[]; ca: boolean } = { extendedKeyUsages: [x509.ExtendedKeyUsage.codeSigning], ca: false };

  private constructor(
    private readonly root: x509.X509Certificate,
    private readonly signingKey: webcrypto.CryptoKey,
    private readonly ctLog: Awaited<ReturnType<typeof initializeCTLog>>,
    /** The mock's CA, whose request handling (fulcioHandler) Fulcio reuses. */
    readonly mock: CA,
  ) {}

  static async create(): Promise<CertificateAuthority> {
    const caKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ctLog = await initializeCTLog(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const mock = await initializeCA(caKeys, ctLog);
    const root = new x509.X509Certificate(bytes(mock.rootCertificate));
    return new CertificateAuthority(root, await toCryptoKey(caKeys.privateKey), ctLog, mock);
  }

  /** The root certificate (DER), for the trusted root's certificate authority. */
  get rootCertificate(): Buffer {
    return Buffer.from(this.root.rawData);
  }

  /** The CT log's public key (SPKI DER). */
  get ctLogPublicKey(): Buffer {
    return Buffer.from(this.ctLog.publicKey);
  }

  /** The CT log's id: the SHA-256 of its public key, as in its SCTs. */
  get ctLogId(): Buffer {
    return bytes(this.ctLog.logID);
  }

  /** Issues a leaf certificate for the SPKI (DER) public key, with an SCT from the CT log. */
  async issue(publicKey: Buffer, identity: Identity, extensions: ExtensionValue[]): Promise<Uint8Array<ArrayBuffer>> {
    const notBefore = new Date(Date.now() + this.leafWindow.startOffsetMs);
    const params = {
      serialNumber: serialNumber(),
      notBefore,
      notAfter: new Date(notBefore.getTime() + this.leafWindow.lifetimeMs),
      issuer: this.root.subjectName,
      publicKey: new Uint8Array(publicKey),
      signingKey: this.signingKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        ...(this.leafProfile.extendedKeyUsages.length > 0 ? [new x509.ExtendedKeyUsageExtension(this.leafProfile.extendedKeyUsages)] : []),
        ...(this.leafProfile.ca ? [new x509.BasicConstraintsExtension(true, undefined, true)] : []),
        new x509.SubjectAlternativeNameExtension([{ type: identity.kind === 'email' ? 'email' : 'url', value: identity.value }], true),
        await x509.SubjectKeyIdentifierExtension.create(new Uint8Array(publicKey), false, x509Crypto),
        await x509.AuthorityKeyIdentifierExtension.create(this.root.publicKey, false, x509Crypto),
        ...extensions.map(
          (extension) =>
            // Fulcio's legacy extensions hold raw bytes; the newer ones a DER UTF8String.
            new x509.Extension(
              extension.oid,
              false,
              extension.legacy ? Buffer.from(extension.value) : der(0x0c, Buffer.from(extension.value)),
            ),
        ),
      ],
    };
    // The CT log signs the certificate as it will be without its SCT list (RFC 6962's precertificate).
    const precertificate = await x509.X509CertificateGenerator.create(params, x509Crypto);
    const issuerId = crypto.createHash('sha256').update(Buffer.from(this.root.publicKey.rawData)).digest();
    const sct = Buffer.from(await this.ctLog.log(precertificate.rawData, arrayBuffer(issuerId)));
    // SignedCertificateTimestampList: a 2-byte length, then each serialized SCT (already length-prefixed).
    const sctList = Buffer.concat([uint16(sct.length), sct]);
    params.extensions.push(new x509.Extension(OID_SCT_LIST, false, der(0x04, sctList)));
    const certificate = await x509.X509CertificateGenerator.create(params, x509Crypto);
    return new Uint8Array(certificate.rawData);
  }
}

/** A random positive serial number (hex), as Fulcio's are: 16 bytes, the first in 0x01..0x7f. */
function serialNumber(): string {
  const random = crypto.randomBytes(16);
  random[0] = ((random[0] as number) & 0x7f) | 0x01;
  return random.toString('hex');
}

/** A DER TLV with a definite length. */
function der(tag: number, content: Buffer): Buffer {
  const length =
    content.length < 0x80
      ? Buffer.from([content.length])
      : content.length < 0x100
        ? Buffer.from([0x81, content.length])
        : Buffer.concat([Buffer.from([0x82]), uint16(content.length)]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function uint16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

/** A copy of exactly the viewed bytes (the mock hands out views into larger buffers). */
function bytes(view: ArrayBufferView): Buffer {
  return Buffer.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

/** The buffer's bytes in an ArrayBuffer of their own (a small Buffer is a view into a shared pool). */
function arrayBuffer(buffer: Buffer): ArrayBuffer {
  return new Uint8Array(buffer).buffer;
}

async function toCryptoKey(privateKey: KeyObject): Promise<webcrypto.CryptoKey> {
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return crypto.webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}
