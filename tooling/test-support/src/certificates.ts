import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';

/*
 * What a certificate says, read by software that is not Signet's (@peculiar/x509, asn1js and
 * OpenSSL through node:crypto), so that a test can hold what Signet reports from a bundle
 * against the certificate itself instead of against values written into the test.
 */

/** Fulcio's extension arc: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md */
export const FULCIO_ARC = '1.3.6.1.4.1.57264.1';

export interface CertificateFacts {
  /** The SAN: its URI, else its email address. */
  subject?: string;
  /** node:crypto's serial number, lower-case hex. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** The issuer's name as OpenSSL (node:crypto) prints it, one attribute after another: `O=…, CN=…`. */
  issuerName: string;
  /** Every Fulcio extension present, by the last arc of its OID (8 for 1.3.6.1.4.1.57264.1.8), as text. */
  fulcio: Record<number, string>;
}

/** Reads a certificate (DER) with @peculiar/x509 and node:crypto. */
export function certificateFacts(der: Uint8Array): CertificateFacts {
  const cert = new x509.X509Certificate(Buffer.from(der));
  const node = new crypto.X509Certificate(Buffer.from(der));
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const subject = names.find((name) => name.type === 'url')?.value ?? names.find((name) => name.type === 'email')?.value;
  const fulcio: Record<number, string> = {};
  for (const extension of cert.extensions) {
    if (!extension.type.startsWith(`${FULCIO_ARC}.`)) continue;
    const arc = Number(extension.type.slice(FULCIO_ARC.length + 1));
    // 1.1 to 1.6 hold their value's bytes as they are; 1.8 onwards a DER UTF8String.
    fulcio[arc] = arc < 8 ? Buffer.from(extension.value).toString('utf8') : utf8String(extension.value);
  }
  return {
    subject,
    serialNumber: node.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuerName: node.issuer.split('\n').join(', '),
    fulcio,
  };
}

function utf8String(der: ArrayBuffer): string {
  const { result } = asn1js.fromBER(der);
  if (!(result instanceof asn1js.Utf8String)) throw new Error('the extension is not a UTF8String');
  return result.valueBlock.value;
}

/** Fulcio's extensions by name, from their OIDs as Fulcio documents them (oid-info.md), current ones first. */
const FULCIO_NAMES: Record<number, string> = {
  8: 'issuer',
  9: 'buildSignerURI',
  10: 'buildSignerDigest',
  11: 'runnerEnvironment',
  12: 'sourceRepository',
  13: 'sourceRepositoryDigest',
  14: 'sourceRepositoryRef',
  15: 'sourceRepositoryIdentifier',
  16: 'sourceRepositoryOwnerURI',
  17: 'sourceRepositoryOwnerIdentifier',
  18: 'buildConfigURI',
  19: 'buildConfigDigest',
  20: 'buildTrigger',
  21: 'runInvocationURI',
  22: 'sourceRepositoryVisibilityAtSigning',
};

/** The deprecated GitHub extensions (1.1 to 1.6) and the current names they stand in for when a certificate lacks those. */
const LEGACY: Record<number, [name: string, value: (text: string) => string]> = {
  1: ['issuer', (text) => text],
  2: ['buildTrigger', (text) => text],
  3: ['sourceRepositoryDigest', (text) => text],
  5: ['sourceRepository', (text) => `https://github.com/${text}`],
  6: ['sourceRepositoryRef', (text) => text],
};

/** The Fulcio extensions a certificate carries, named as Signet names them (CertificateExtensions). */
export function fulcioExtensions(facts: CertificateFacts): Record<string, string> {
  const named: Record<string, string> = {};
  for (const [arc, value] of Object.entries(facts.fulcio)) {
    const name = FULCIO_NAMES[Number(arc)];
    if (name) named[name] = value;
  }
  for (const [arc, [name, value]] of Object.entries(LEGACY)) {
    const text = facts.fulcio[Number(arc)];
    if (text !== undefined && named[name] === undefined) named[name] = value(text);
  }
  return named;
}
