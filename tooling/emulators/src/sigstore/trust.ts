import * as x509 from '@peculiar/x509';
import type { FulcioEmulator } from './fulcio';
import type { OidcIssuerEmulator } from './oidc';
import type { RekorEmulator } from './rekor';
import type { RekorV2Emulator } from './rekor-v2';
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
  publicKey: { rawBytes: string; keyDetails: 'PKIX_ECDSA_P256_SHA_256' | 'PKIX_ED25519'; validFor: TimeRangeJson };
  /**
   * For Rekor v1 and a CT log, SHA-256 of the public key (DER SPKI); for Rekor v2, the
   * signed-note key ID of its checkpoints, SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ Ed25519 key).
   */
  logId: { keyId: string };
  /** The key id checkpoints are signed under: the log id (rekor-tiles sets both alike). */
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

/** The services a stack's trust material and signing configs name. */
export interface StackServices {
  oidc: OidcIssuerEmulator;
  fulcio: FulcioEmulator;
  rekor: RekorEmulator;
  rekorV2: RekorV2Emulator;
  tsa: TimestampAuthorityEmulator;
}

/**
 * The trusted root of a started Fulcio, Rekor (v1 and v2) and TSA. Validity starts at `validFrom`,
 * which must lie in the past: Rekor's integrated time and the TSA's time are whole seconds, so a
 * validity starting "now" (with milliseconds) would refuse a timestamp taken in the same second.
 */
export function trustedRootOf(services: Omit<StackServices, 'oidc'>, validFrom: Date): TrustedRootJson {
  const validFor = { start: validFrom.toISOString() };
  const { fulcio, rekor, rekorV2, tsa } = services;
  const logId = rekor.log.logId.toString('base64');
  const logIdV2 = rekorV2.log.logId.toString('base64');
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
      {
        // As log2025-1.rekor.sigstore.dev is in the public-good root: an Ed25519 key, named by its checkpoint key ID.
        baseUrl: rekorV2.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: rekorV2.log.publicKey.toString('base64'), keyDetails: 'PKIX_ED25519', validFor },
        logId: { keyId: logIdV2 },
        checkpointKeyId: { keyId: logIdV2 },
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

/** The signing config of a started stack: every URL a keyless signer needs, with Rekor v1 as the log. */
export function signingConfigOf(services: Omit<StackServices, 'rekorV2'>, validFrom: Date): SigningConfigJson {
  const start = validFrom.toISOString();
  return keylessSigningConfig(services, start, [service(services.rekor.url, 1, start)]);
}

/**
 * The opt-in Rekor v2 signing config, shaped as public-good's `signing_config_rekor_v2.v0.2.json`:
 * the v2 log first and newer (its start a minute after the v1 log's), then the v1 log, for
 * clients that only speak v1. A client picks the highest API version it supports, so a v2
 * client logs to v2 and must then take a timestamp from the TSA, the only signed time it gets.
 */
export function signingConfigRekorV2Of(services: StackServices, validFrom: Date): SigningConfigJson {
  const start = validFrom.toISOString();
  return keylessSigningConfig(services, start, [
    service(services.rekorV2.url, 2, new Date(validFrom.getTime() + 60_000).toISOString()),
    service(services.rekor.url, 1, start),
  ]);
}

function keylessSigningConfig(
  services: Pick<StackServices, 'oidc' | 'fulcio' | 'tsa'>,
  start: string,
  rekorTlogUrls: ServiceJson[],
): SigningConfigJson {
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(services.fulcio.url, 1, start)],
    oidcUrls: [service(services.oidc.url, 1, start)],
    rekorTlogUrls,
    // A signing config names the TSA by its full endpoint, not its base URL.
    tsaUrls: [service(`${services.tsa.url}/api/v1/timestamp`, 1, start)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

function service(url: string, majorApiVersion: number, start: string): ServiceJson {
  return { url, majorApiVersion, validFor: { start }, operator: OPERATOR };
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
