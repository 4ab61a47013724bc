import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A throwaway certificate authority and the server certificate it issued for 127.0.0.1. */
export interface TestTls {
  /** The CA certificate (PEM): what NODE_EXTRA_CA_CERTS or a client's `ca` option trusts. */
  caPem: string;
  /** The server's certificate chain (PEM) and private key (PKCS#8 PEM), for tls.createServer. */
  certPem: string;
  keyPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * A fresh CA and a server certificate for 127.0.0.1 and localhost (or the host names given),
 * made in memory for one emulator run. Real Azure Key Vault is HTTPS only, so the emulator is
 * too: the SDK and MSAL then take exactly the code paths they take in production.
 */
export async function createTestTls(dnsNames: string[] = ['localhost']): Promise<TestTls> {
  const now = Date.now();
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + 24 * 3600_000);
  const caKeys = await crypto.webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Signet test CA (Azure Key Vault emulator)',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = await crypto.webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${dnsNames[0] ?? '127.0.0.1'}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey));
  return {
    caPem: ca.toString('pem'),
    certPem: server.toString('pem'),
    keyPem: crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** A positive 64-bit serial number, as hex. */
function serial(): string {
  const bytes = crypto.randomBytes(8);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString('hex');
}
