import crypto, { type webcrypto } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';

/*
 * HTTPS in front of the emulator, as cloudkms.googleapis.com:443 serves both transports:
 * a TLS connection that negotiates h2 (gRPC) is piped to the gRPC server, anything else
 * (HTTP/1.1 REST) to the REST server. TLS matters because grpc-js sends call credentials
 * (the bearer token) only over a secure channel, so authentication is only checkable there.
 */

export interface TestCertificates {
  /** The test CA, to trust (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, NODE_EXTRA_CA_CERTS). */
  caPem: string;
  /** The server's certificate (127.0.0.1 and localhost) and key. */
  certPem: string;
  keyPem: string;
}

/** A throwaway CA and a server certificate it issued, valid for a day. */
export async function createTestCertificates(): Promise<TestCertificates> {
  x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const subtle = crypto.webcrypto.subtle;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caKeys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    name: 'CN=Signet GCP KMS emulator test CA',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    subject: 'CN=127.0.0.1',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', serverKeys.privateKey));
  return {
    caPem: ca.toString('pem'),
    certPem: server.toString('pem'),
    keyPem: crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export class TlsFront {
  private server?: tls.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Upstream socket address (as the upstream server sees its peer) → the client's TLS socket. */
  private readonly byUpstream = new Map<string, tls.TLSSocket>();

  constructor(
    private readonly certificates: TestCertificates,
    private readonly upstream: { h2: () => number; http1: () => number },
  ) {}

  async start(): Promise<number> {
    const server = tls.createServer(
      { cert: this.certificates.certPem, key: this.certificates.keyPem, ALPNProtocols: ['h2', 'http/1.1'] },
      (client) => this.pipe(client),
    );
    server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A client that fails the handshake (untrusted CA) is its own problem, not the emulator's.
    server.on('tlsClientError', () => {});
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Cuts the client connection that carries a call, found by the peer address the upstream
   * server saw (`call.getPeer()`). False when the call did not come through this front.
   */
  drop(upstreamPeer: string): boolean {
    const client = this.byUpstream.get(upstreamPeer.replace(/^ipv4:/, ''));
    if (!client) return false;
    client.destroy();
    return true;
  }

  private pipe(client: tls.TLSSocket): void {
    const port = client.alpnProtocol === 'h2' ? this.upstream.h2() : this.upstream.http1();
    const upstream = net.connect(port, '127.0.0.1');
    let key: string | undefined;
    upstream.on('connect', () => {
      key = `${upstream.localAddress}:${upstream.localPort}`;
      this.byUpstream.set(key, client);
    });
    const close = () => {
      if (key) this.byUpstream.delete(key);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream).pipe(client);
  }
}
