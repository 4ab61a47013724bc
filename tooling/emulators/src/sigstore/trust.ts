import * as x509 from '@peculiar/x509';
import type { FulcioEmulator } from './fulcio';
import type { OidcIssuerEmulator } from './oidc';
import type { RekorEmulator } from './rekor';
import type { TimestampAuthorityEmulator } from './tsa';

/*
 * The stack's trust material and service map, in Sigstore's own JSON formats (the protobuf-specs
 * JSON mapping: camelCase fields, base64 bytes, RFC 3339 times, enum names), so a client reads
 * them as it reads the public-good instance's: `TrustedRoot.fromJSON(...)`, `SigningConfig.fromJSON(...)`.
 */

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';
const OPERATOR = 'signet-emulators';

export interface TimeRangeJson {
  start: string;
  end?: string;
}

export interface TransparencyLogInstanceJson {
  baseUrl: string;
  hashAlgorithm: 'SHA2_256';
  publicKey: { rawBytes: string; keyDetails: 'PKIX_ECDSA_P256_SHA_256'; validFor: TimeRangeJson };
  /** SHA-256 of the public key (DER SPKI). */
  logId: { keyId: string };
  /** The key id checkpoints are signed under: for a Rekor v1 log, its log id. */
  checkpointKeyId: { keyId: string };
  operator: string;
}

export interface CertificateAuthorityJson {
  subject: { organization: string; commonName: string };
  uri: string;
  /** Signing certificate first, root last. */
  certChain: { certificates: { rawBytes: string }[] };
  validFor: TimeRangeJson;
  operator: string;
}

/** trusted_root.json */
export interface TrustedRootJson {
  mediaType: typeof TRUSTED_ROOT_MEDIA_TYPE;
  tlogs: TransparencyLogInstanceJson[];
  certificateAuthorities: CertificateAuthorityJson[];
  ctlogs: TransparencyLogInstanceJson[];
  timestampAuthorities: CertificateAuthorityJson[];
}

export interface ServiceJson {
  url: string;
  majorApiVersion: number;
  validFor: TimeRangeJson;
  operator: string;
}

/** A signing config v0.2: where to sign. */
export interface SigningConfigJson {
  mediaType: typeof SIGNING_CONFIG_MEDIA_TYPE;
  caUrls: ServiceJson[];
  oidcUrls: ServiceJson[];
  rekorTlogUrls: ServiceJson[];
  tsaUrls: ServiceJson[];
  rekorTlogConfig: { selector: 'ANY' };
  tsaConfig: { selector: 'ANY' };
}

/**
 * The trusted root of a started Fulcio, Rekor and TSA. Validity starts at `validFrom`, which
 * must lie in the past: Rekor's integrated time and the TSA's time are whole seconds, so a
 * validity starting "now" (with milliseconds) would refuse a timestamp taken in the same second.
 */
export function trustedRootOf(
  services: { fulcio: FulcioEmulator; rekor: RekorEmulator; tsa: TimestampAuthorityEmulator },
  validFrom: Date,
): TrustedRootJson {
  const validFor = { start: validFrom.toISOString() };
  const { fulcio, rekor, tsa } = services;
  const logId = rekor.log.logId.toString('base64');
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [
      {
        baseUrl: rekor.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: rekor.log.publicKey.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
        logId: { keyId: logId },
        checkpointKeyId: { keyId: logId },
        operator: OPERATOR,
      },
    ],
    certificateAuthorities: [certificateAuthority(fulcio.url, [fulcio.ca.rootCertificate], validFor)],
    ctlogs: [
      {
        // The CT log is Fulcio's own (it embeds the SCTs); clients never call it.
        baseUrl: `${fulcio.url}/ct`,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: fulcio.ca.ctLogPublicKey.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
        logId: { keyId: fulcio.ca.ctLogId.toString('base64') },
        checkpointKeyId: { keyId: fulcio.ca.ctLogId.toString('base64') },
        operator: OPERATOR,
      },
    ],
    timestampAuthorities: [certificateAuthority(`${tsa.url}/api/v1/timestamp`, tsa.certificateChain, validFor)],
  };
}

/** The signing config of a started stack: every URL a keyless signer needs. */
export function signingConfigOf(
  services: { oidc: OidcIssuerEmulator; fulcio: FulcioEmulator; rekor: RekorEmulator; tsa: TimestampAuthorityEmulator },
  validFrom: Date,
): SigningConfigJson {
  const service = (url: string): ServiceJson => ({
    url,
    majorApiVersion: 1,
    validFor: { start: validFrom.toISOString() },
    operator: OPERATOR,
  });
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(services.fulcio.url)],
    oidcUrls: [service(services.oidc.url)],
    rekorTlogUrls: [service(services.rekor.url)],
    // A signing config names the TSA by its full endpoint, not its base URL.
    tsaUrls: [service(`${services.tsa.url}/api/v1/timestamp`)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

function certificateAuthority(uri: string, chain: Buffer[], validFor: TimeRangeJson): CertificateAuthorityJson {
  const leaf = new x509.X509Certificate(chain[0] as Buffer);
  return {
    subject: {
      organization: leaf.subjectName.getField('O')[0] ?? '',
      commonName: leaf.subjectName.getField('CN')[0] ?? '',
    },
    uri,
    certChain: { certificates: chain.map((der) => ({ rawBytes: der.toString('base64') })) },
    validFor,
    operator: OPERATOR,
  };
}
