import { type GatePolicy, imageRuleFor, loadTrustedRoot, type SignetErrorCode, type TrustedRoot } from '@signet/core';
import {
  formatImageReference,
  type ImageReference,
  type ImageVerdict,
  imageName,
  parseImageReference,
  RegistryClient,
  verifyImageForPolicy,
} from '@signet/oci';

/*
 * Verifies a review's images against the policy: all at once, each distinct image once, each
 * within a deadline, and remembering for a while the digests that verified. A Deployment's
 * replicas, and the validating webhook after the mutating one pinned the tags, bring the same
 * digests again within seconds.
 *
 * The cache is keyed by the rule, the repository and the digest, never by a tag alone: a tag
 * can be moved to another image at any time, so it is resolved again on every review. Only
 * successes are kept: a denial may be a signature not pushed yet, and must not outlive its cause.
 * References are keyed and pinned in their canonical spelling, the one the rule was chosen by.
 */

export interface CheckedImage extends ImageVerdict {
  /** The verdict came from the cache of verified digests. */
  cached?: boolean;
}

export interface ImageCheckerOptions {
  policy: GatePolicy;
  client?: RegistryClient;
  /** Default: Sigstore's trusted root (loadTrustedRoot, which honours SIGNET_OFFLINE), loaded when first needed and kept a day. */
  trustedRoot?: () => Promise<TrustedRoot>;
  /** How long a verified digest is trusted without verifying it again (default 60 s; 0 keeps none). */
  cacheTtlMs?: number;
}

export const DEFAULT_CACHE_TTL_MS = 60_000;
/** Bounds the memory a long-running webhook spends on digests it saw once. */
const CACHE_ENTRIES = 1000;
const TRUSTED_ROOT_REFRESH_MS = 24 * 60 * 60 * 1000;

export class ImageChecker {
  private readonly policy: GatePolicy;
  private readonly client: RegistryClient;
  private readonly trustedRoot: () => Promise<TrustedRoot>;
  private readonly ttlMs: number;
  private readonly verified = new Map<string, { verdict: ImageVerdict; expires: number }>();
  /** Verifications of a reference with a digest under way, by cache key, which a concurrent review of it joins. */
  private readonly pending = new Map<string, Promise<ImageVerdict>>();

  constructor(options: ImageCheckerOptions) {
    this.policy = options.policy;
    this.client = options.client ?? new RegistryClient();
    this.trustedRoot = options.trustedRoot ?? refreshed(() => loadTrustedRoot(), TRUSTED_ROOT_REFRESH_MS);
    this.ttlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  }

  /** One verdict per distinct image, verified in parallel, each failing as "timed out" after timeoutMs. */
  async checkAll(images: readonly string[], timeoutMs: number): Promise<Map<string, CheckedImage>> {
    const distinct = [...new Set(images)];
    const verdicts = await Promise.all(distinct.map((image) => this.check(image, timeoutMs)));
    return new Map(distinct.map((image, i) => [image, verdicts[i] as CheckedImage]));
  }

  async check(image: string, timeoutMs: number): Promise<CheckedImage> {
    const byDigest = this.digestKeyOf(image);
    if (byDigest !== undefined) {
      const entry = this.verified.get(byDigest.key);
      if (entry && entry.expires > Date.now()) return { ...entry.verdict, image, pinned: byDigest.pinned, cached: true };
      if (entry) this.verified.delete(byDigest.key);
    }
    // A digest's verification under way is joined by every review of it, however spelled; a tag is resolved per review.
    let verification = byDigest === undefined ? undefined : this.pending.get(byDigest.key);
    if (!verification) {
      verification = this.verify(image);
      if (byDigest !== undefined) {
        this.pending.set(byDigest.key, verification);
        void verification.finally(() => this.pending.delete(byDigest.key));
      }
    }
    // The verdict names the reference as this review gave it.
    return withDeadline(
      verification.then((verdict) => ({ ...verdict, image })),
      image,
      timeoutMs,
    );
  }

  /** Never rejects: a failure to verify, even an unexpected one, is a verdict. */
  private async verify(image: string): Promise<ImageVerdict> {
    let verdict: ImageVerdict;
    try {
      verdict = await verifyImageForPolicy(image, this.policy, { client: this.client, trustedRoot: this.trustedRoot });
    } catch (error) {
      const code = (error as { code?: unknown } | undefined)?.code;
      const reason = error instanceof Error ? error.message : String(error);
      return { image, ok: false, reason, code: typeof code === 'string' ? (code as SignetErrorCode) : 'E_INTERNAL' };
    }
    if (verdict.ok && verdict.digest && this.ttlMs > 0) {
      const byDigest = this.digestKeyOf(image, verdict.digest);
      if (byDigest !== undefined) this.remember(byDigest.key, verdict);
    }
    return verdict;
  }

  private remember(key: string, verdict: ImageVerdict): void {
    this.verified.delete(key);
    if (this.verified.size >= CACHE_ENTRIES) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(key, { verdict, expires: Date.now() + this.ttlMs });
  }

  /**
   * For a reference with a digest (or given one): its cache key, `RULE REGISTRY/REPOSITORY[:TAG]@DIGEST`
   * in the canonical spelling (so GHCR.io:443/… and ghcr.io/… share one entry, under the rule
   * both meet), and that reference, which is what the webhook pins. Undefined for a tag alone
   * or a bad reference. A tag beside the digest stays in the key: it can be what verified (a
   * platform manifest of an index signed under that tag), and it never decides which image runs.
   */
  private digestKeyOf(image: string, digest?: string): { key: string; pinned: string } | undefined {
    let reference: ImageReference;
    let rule: number | undefined;
    try {
      reference = parseImageReference(image);
      rule = imageRuleFor(this.policy, imageName(reference))?.index;
    } catch {
      return undefined;
    }
    digest ??= reference.digest;
    if (digest === undefined) return undefined;
    const pinned = formatImageReference({ ...reference, digest });
    return { key: `${rule ?? '-'} ${pinned}`, pinned };
  }
}

async function withDeadline(verification: Promise<ImageVerdict>, image: string, timeoutMs: number): Promise<ImageVerdict> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ImageVerdict>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          image,
          ok: false,
          reason: `timed out: not verified within ${formatSeconds(timeoutMs)} (the registry or the key provider was too slow)`,
          code: 'E_PROVIDER',
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([verification, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${ms} ms`;
}

/** A loader whose result is kept for maxAgeMs; a failure is not kept, so the next call tries again. */
function refreshed<T>(load: () => Promise<T>, maxAgeMs: number): () => Promise<T> {
  let cached: { value: Promise<T>; loadedAt: number } | undefined;
  return () => {
    if (!cached || Date.now() - cached.loadedAt > maxAgeMs) {
      const value = load();
      const entry = { value, loadedAt: Date.now() };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}
