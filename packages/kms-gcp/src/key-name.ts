import { type KeyRef, SignetError } from '@signet/core';

/** A Cloud KMS key, and the version the reference pins, if it pins one. */
export interface GcpKeyName {
  /** `projects/P/locations/L/keyRings/R` */
  keyRing: string;
  /** `projects/P/locations/L` */
  location: string;
  keyRingId: string;
  cryptoKeyId: string;
  /** `projects/P/locations/L/keyRings/R/cryptoKeys/K` */
  cryptoKey: string;
  /** `…/cryptoKeyVersions/N`, when the reference names a version. */
  version?: string;
}

const NAME =
  /^projects\/([^/]+)\/locations\/([^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/]+)(?:\/(?:cryptoKeyVersions|versions)\/([^/]+))?\/?$/;

/**
 * `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/N]`, cosign's
 * syntax. `/versions/N` is accepted too, since users often write it (cosign#2094, #597).
 */
export function parseGcpKeyName(ref: KeyRef): GcpKeyName {
  const match = NAME.exec(ref.location);
  if (!match) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${ref.display} is not a Cloud KMS key name; write gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/N]`,
    });
  }
  const [, project = '', location = '', keyRingId = '', cryptoKeyId = '', version] = match;
  if (version !== undefined && !/^[1-9]\d*$/.test(version)) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${ref.display} names a key version that is not a number; a version is cryptoKeyVersions/1, /2, …`,
    });
  }
  const locationName = `projects/${project}/locations/${location}`;
  const keyRing = `${locationName}/keyRings/${keyRingId}`;
  const cryptoKey = `${keyRing}/cryptoKeys/${cryptoKeyId}`;
  return {
    keyRing,
    location: locationName,
    keyRingId,
    cryptoKeyId,
    cryptoKey,
    version: version === undefined ? undefined : `${cryptoKey}/cryptoKeyVersions/${version}`,
  };
}

/** The version number at the end of a CryptoKeyVersion name. */
export function versionNumber(name: string): number {
  return Number(/\/cryptoKeyVersions\/(\d+)$/.exec(name)?.[1] ?? 0);
}
