import type { Bundle, RFC3161SignedTimestamp, TransparencyLogEntry } from '@sigstore/bundle';

/**
 * What countersigns a signature: a transparency-log entry, a timestamp. The shape of
 * @sigstore/sign's Witness, which is what it is handed to, declared here because core's types
 * must compile in a strict consumer without skipLibCheck, and @sigstore/sign's declarations do
 * not: they import make-fetch-happen, which has no types, and @sigstore/rekor-types, which
 * @sigstore/sign does not install.
 */
export interface Witness {
  testify: (
    signature: Bundle['content'],
    publicKey: string,
  ) => Promise<{ tlogEntries?: TransparencyLogEntry[]; rfc3161Timestamps?: RFC3161SignedTimestamp[] }>;
}

/** How a witness speaks to its service. */
export interface TransportOptions {
  /** Deadline per attempt. */
  timeoutMs: number;
  /** Further attempts after a 5xx, 408, 429 or a failed connection, as @sigstore/sign's fetchWithRetry makes. */
  retries: number;
}
