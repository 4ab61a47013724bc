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
  /** How many verified digests are kept at most, the least recently used going first (default 1,000). */
  cacheEntries?: number;
}

export const DEFAULT_CACHE_TTL_MS = 60_000;
/** Bounds the memory a long-running webhook spends on digests it saw once. */
export const DEFAULT_CACHE_ENTRIES = 1000;
const TRUSTED_ROOT_REFRESH_MS = 24 * 60 * 60 * 1000;

export class ImageChecker {
  private readonly policy: GatePolicy;
  private readonly client: RegistryClient;
  private readonly trustedRoot: () => Promise<TrustedRoot>;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly verified = new Map<string, { verdict: ImageVerdict; expires: number }>();
  /** Verifications under way, by cache key, which every review of the same digest joins. */
  private readonly pending = new Map<string, Verification>();

  constructor(options: ImageCheckerOptions) {
    this.policy = options.policy;
    this.client = options.client ?? new RegistryClient();
    this.trustedRoot = options.trustedRoot ?? refreshed(() => loadTrustedRoot(), TRUSTED_ROOT_REFRESH_MS);
    this.ttlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.maxEntries = Math.max(1, options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
  }

  /** One verdict per distinct image, verified in parallel, each failing as "timed out" after timeoutMs. */
  async checkAll(images: readonly string[], timeoutMs: number): Promise<Map<string, CheckedImage>> {
    const distinct = [...new Set(images)];
    const verdicts = await Promise.all(distinct.map((image) => this.check(image, timeoutMs)));
    return new Map(distinct.map((image, i) => [image, verdicts[i] as CheckedImage]));
  }

  /**
   * The image's verdict within timeoutMs, else "timed out". What it waited on stops then: the
   * tag's resolution, and the verification unless another review still waits for it.
   */
  async check(image: string, timeoutMs: number): Promise<CheckedImage> {
    const review = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<CheckedImage>((resolve) => {
      timer = setTimeout(() => {
        review.abort();
        resolve({
          image,
          ok: false,
          reason: `timed out: not verified within ${formatSeconds(timeoutMs)} (the registry or the key provider was too slow)`,
          code: 'E_PROVIDER',
        });
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.lookup(image, review.signal), deadline]);
    } finally {
      clearTimeout(timer);
      review.abort();
    }
  }

  /**
   * A reference with a digest is looked up in the cache of verified digests; a tag is resolved
   * first (on every review: it can be moved to another image at any time), and its digest then
   * looked up the same way. A miss joins, or starts, the digest's verification.
   */
  private async lookup(image: string, review: AbortSignal): Promise<CheckedImage> {
    let reference: ImageReference | undefined;
    let rule: number | undefined;
    try {
      reference = parseImageReference(image);
      rule = imageRuleFor(this.policy, imageName(reference))?.index;
    } catch {
      // denied below, with the reason
    }
    // A bad reference or an image no rule covers is denied without asking any registry.
    if (reference === undefined || rule === undefined) return this.verify(image, this.client.withSignal(review));
    let digest = reference.digest;
    if (digest === undefined) {
      const tag = reference.tag ?? 'latest';
      let manifest: Awaited<ReturnType<RegistryClient['manifest']>>;
      try {
        manifest = await this.client.withSignal(review).manifest(reference, tag);
      } catch (error) {
        return { image, ok: false, rule, ...failureOf(error) };
      }
      // A tag the registry does not have: the verification says so, as it does for any image.
      if (!manifest) return this.verify(image, this.client.withSignal(review));
      digest = manifest.digest;
    }
    const pinned = formatImageReference({ ...reference, digest });
    const key = `${rule} ${pinned}`;
    const entry = this.verified.get(key);
    if (entry) this.verified.delete(key);
    if (entry && entry.expires > Date.now()) {
      // Moved to the end: the digests a cluster keeps running stay while one-off digests come and go.
      this.verified.set(key, entry);
      return { ...entry.verdict, image, pinned, cached: true };
    }
    return { ...(await this.join(key, pinned, review)), image };
  }

  /**
   * Waits for the verification of a reference with a digest, starting it unless one is under
   * way. When the last review waiting for it gives up, it is stopped: a registry that hangs
   * must not keep requests open, and retrying, for answers nobody will read.
   */
  private async join(key: string, pinned: string, review: AbortSignal): Promise<ImageVerdict> {
    let verification = this.pending.get(key);
    if (!verification) {
      const stop = new AbortController();
      const started: Verification = { waiting: 0, stop, verdict: this.verify(pinned, this.client.withSignal(stop.signal), key) };
      this.pending.set(key, started);
      void started.verdict.finally(() => this.forget(key, started));
      verification = started;
    }
    const joined = verification;
    joined.waiting++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      if (--joined.waiting === 0 && !joined.stop.signal.aborted) {
        joined.stop.abort();
        this.forget(key, joined);
      }
    };
    review.addEventListener('abort', leave, { once: true });
    try {
      return await joined.verdict;
    } finally {
      review.removeEventListener('abort', leave);
      // Answered: nothing left to stop.
      if (!left) {
        left = true;
        joined.waiting--;
      }
    }
  }

  private forget(key: string, verification: Verification): void {
    if (this.pending.get(key) === verification) this.pending.delete(key);
  }

  /** Never rejects: a failure to verify, even an unexpected one, is a verdict. A success is kept under `key`. */
  private async verify(image: string, client: RegistryClient, key?: string): Promise<ImageVerdict> {
    let verdict: ImageVerdict;
    try {
      verdict = await verifyImageForPolicy(image, this.policy, { client, trustedRoot: this.trustedRoot });
    } catch (error) {
      return { image, ok: false, ...failureOf(error) };
    }
    if (verdict.ok && key !== undefined && this.ttlMs > 0) this.remember(key, verdict);
    return verdict;
  }

  private remember(key: string, verdict: ImageVerdict): void {
    this.verified.delete(key);
    if (this.verified.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the one least recently used.
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(key, { verdict, expires: Date.now() + this.ttlMs });
  }
}

interface Verification {
  verdict: Promise<ImageVerdict>;
  /** Reviews waiting for the verdict. */
  waiting: number;
  /** Stops the verification's requests once no review waits. */
  stop: AbortController;
}

/** What a thrown error says, as a verdict's reason and code. */
function failureOf(error: unknown): { reason: string; code: SignetErrorCode } {
  const code = (error as { code?: unknown } | undefined)?.code;
  const reason = error instanceof Error ? error.message.replace(/\s*\n\s*/g, ' ') : String(error);
  return { reason, code: typeof code === 'string' ? (code as SignetErrorCode) : 'E_INTERNAL' };
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
