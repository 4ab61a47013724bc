import { X509Certificate } from '@sigstore/core';

/*
 * What a Fulcio certificate says about who signed, beyond its SAN: the OIDC issuer and the
 * claims Fulcio copies from a CI token into extensions (OID arc 1.3.6.1.4.1.57264.1, see
 * https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md). The SAN of a GitHub
 * Actions certificate names the workflow file that ran, which for a reusable workflow is
 * the called workflow in another repository; the repository that ran it, and at which
 * ref, are only in the source-repository extensions.
 */

/** Fulcio's certificate extensions, as their values (text). */
export interface CertificateExtensions {
  /** The OIDC issuer (1.8, or the deprecated 1.1). */
  issuer?: string;
  /** The repository that ran the build, as a URI (1.12), e.g. https://github.com/org/app. */
  sourceRepository?: string;
  /** The ref it ran at (1.14), e.g. refs/tags/v1.2.0. */
  sourceRepositoryRef?: string;
  /** The commit (1.13). */
  sourceRepositoryDigest?: string;
  /** The repository's immutable identifier (1.15), e.g. GitHub's numeric repository id. */
  sourceRepositoryIdentifier?: string;
  /** The repository's owner, as a URI (1.16), e.g. https://github.com/org. */
  sourceRepositoryOwnerURI?: string;
  /** The owner's immutable identifier (1.17). */
  sourceRepositoryOwnerIdentifier?: string;
  /** public or private, when the certificate was issued (1.22). */
  sourceRepositoryVisibilityAtSigning?: string;
  /** The workflow that signed, where it is defined (1.9): the SAN for CI certificates. */
  buildSignerURI?: string;
  /** The commit of the workflow that signed (1.10). */
  buildSignerDigest?: string;
  /** The top-level workflow that was run (1.18). */
  buildConfigURI?: string;
  /** The commit of the top-level workflow (1.19). */
  buildConfigDigest?: string;
  /** What triggered the run (1.20): push, release, workflow_dispatch… */
  buildTrigger?: string;
  /** github-hosted or self-hosted (1.11). */
  runnerEnvironment?: string;
  /** The run (1.21). */
  runInvocationURI?: string;
}

const ARC = '1.3.6.1.4.1.57264.1';

/** Extensions holding a DER UTF8String (Fulcio's current ones). */
const CURRENT: Record<string, keyof CertificateExtensions> = {
  [`${ARC}.8`]: 'issuer',
  [`${ARC}.9`]: 'buildSignerURI',
  [`${ARC}.10`]: 'buildSignerDigest',
  [`${ARC}.11`]: 'runnerEnvironment',
  [`${ARC}.12`]: 'sourceRepository',
  [`${ARC}.13`]: 'sourceRepositoryDigest',
  [`${ARC}.14`]: 'sourceRepositoryRef',
  [`${ARC}.15`]: 'sourceRepositoryIdentifier',
  [`${ARC}.16`]: 'sourceRepositoryOwnerURI',
  [`${ARC}.17`]: 'sourceRepositoryOwnerIdentifier',
  [`${ARC}.18`]: 'buildConfigURI',
  [`${ARC}.19`]: 'buildConfigDigest',
  [`${ARC}.20`]: 'buildTrigger',
  [`${ARC}.21`]: 'runInvocationURI',
  [`${ARC}.22`]: 'sourceRepositoryVisibilityAtSigning',
};

/** Fulcio's deprecated extensions (raw bytes), read only where a certificate lacks the current one. */
const LEGACY_ISSUER = `${ARC}.1`;
const LEGACY_GITHUB_TRIGGER = `${ARC}.2`;
const LEGACY_GITHUB_SHA = `${ARC}.3`;
const LEGACY_GITHUB_REPOSITORY = `${ARC}.5`;
const LEGACY_GITHUB_REF = `${ARC}.6`;

/**
 * Reads the Fulcio extensions of a certificate (DER, or one already parsed: a monitor matching
 * thousands of log entries parses each certificate once). Unknown or unreadable extensions are left out.
 */
export function certificateExtensions(certificate: Uint8Array | X509Certificate): CertificateExtensions {
  return certificateExtensionsOf(certificate instanceof X509Certificate ? certificate : X509Certificate.parse(Buffer.from(certificate)));
}

/** certificateExtensions of a certificate already parsed. */
export function certificateExtensionsOf(cert: X509Certificate): CertificateExtensions {
  const found: CertificateExtensions = {};
  for (const [oid, field] of Object.entries(CURRENT)) {
    const value = cert.extension(oid)?.valueObj.subs[0]?.value;
    if (value) found[field] = value.toString('utf8');
  }
  const legacy = (oid: string) => cert.extension(oid)?.value.toString('utf8');
  found.issuer ??= legacy(LEGACY_ISSUER);
  // Before Fulcio had source-repository extensions, the GitHub ones named the repository
  // that ran the workflow (the token's `repository` claim) as OWNER/REPO.
  const githubRepository = legacy(LEGACY_GITHUB_REPOSITORY);
  if (found.sourceRepository === undefined && githubRepository) found.sourceRepository = `https://github.com/${githubRepository}`;
  found.sourceRepositoryRef ??= legacy(LEGACY_GITHUB_REF);
  found.sourceRepositoryDigest ??= legacy(LEGACY_GITHUB_SHA);
  found.buildTrigger ??= legacy(LEGACY_GITHUB_TRIGGER);
  for (const key of Object.keys(found) as (keyof CertificateExtensions)[]) if (found[key] === undefined) delete found[key];
  return found;
}
