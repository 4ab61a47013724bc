import { type Failure, failureFromStatus, redactSecrets } from '@signet/core';
import type NodeVault from 'node-vault';

/*
 * The Transit calls Signet makes, through node-vault, and what their failures mean.
 * node-vault's errors carry the request it made (axios keeps the headers, X-Vault-Token
 * among them), so every error is rebuilt here from its safe parts before anyone sees it.
 */

/** A failed Transit call with nothing secret in it: HTTP status and Vault's `errors`, or a network error code. */
export class VaultCallError extends Error {
  readonly status?: number;
  readonly errors: string[];
  readonly code?: string;
  /** A 2xx answer that is not what Transit sends (damaged on the way, or a proxy's page). */
  readonly malformed: boolean;

  constructor(message: string, details: { status?: number; errors?: string[]; code?: string; malformed?: boolean } = {}) {
    super(message);
    this.name = 'VaultCallError';
    this.status = details.status;
    this.errors = details.errors ?? [];
    this.code = details.code;
    this.malformed = details.malformed ?? false;
  }
}

/** A key as `GET /v1/<mount>/keys/<name>` describes it. */
export interface TransitKey {
  type: string;
  latestVersion: number;
  minEncryptionVersion: number;
  /** Public keys by version: a PEM, or base64 of the raw key for ed25519. */
  publicKeys: Map<number, string>;
}

export interface SignRequest {
  /** `sha2-256` etc.; absent for ed25519, which signs the message. */
  hash?: string;
  input: Buffer;
  prehashed: boolean;
  keyVersion: number;
  signatureAlgorithm?: 'pkcs1v15' | 'pss';
}

export class TransitClient {
  constructor(
    private readonly vault: NodeVault.client,
    private readonly mountPath: string,
    private readonly secrets: readonly string[],
  ) {}

  /** The key's metadata and public keys. */
  async readKey(name: string, timeout: number): Promise<TransitKey> {
    const body = await this.call(() => this.vault.read(`${this.mountPath}/keys/${name}`, { timeout }));
    return parseKey(body);
  }

  /** Creates a key; returns Vault's warnings (an existing key is not an error to Vault, only a warning). */
  async createKey(name: string, type: string, timeout: number): Promise<string[]> {
    const body = await this.call(() => this.vault.write(`${this.mountPath}/keys/${name}`, { type }, { timeout }));
    const warnings = (body as { warnings?: unknown } | undefined)?.warnings;
    return Array.isArray(warnings) ? warnings.map(String) : [];
  }

  /** One signature: `vault:vN:<base64>` split into its version and bytes. */
  async sign(name: string, request: SignRequest, timeout: number): Promise<{ version: number; signature: Buffer }> {
    const path = `${this.mountPath}/sign/${name}${request.hash ? `/${request.hash}` : ''}`;
    const data: Record<string, unknown> = {
      input: request.input.toString('base64'),
      key_version: request.keyVersion,
      marshaling_algorithm: 'asn1',
    };
    if (request.prehashed) data.prehashed = true;
    if (request.signatureAlgorithm) data.signature_algorithm = request.signatureAlgorithm;
    const body = await this.call(() => this.vault.write(path, data, { timeout }));
    const signature = (body as { data?: { signature?: unknown } } | undefined)?.data?.signature;
    const match = typeof signature === 'string' ? /^vault:v([0-9]+):([A-Za-z0-9+/]+={0,2})$/.exec(signature) : null;
    if (!match) throw new VaultCallError('Vault answered without a vault:vN: signature', { malformed: true });
    return { version: Number(match[1]), signature: Buffer.from(match[2] as string, 'base64') };
  }

  private async call(request: () => Promise<unknown>): Promise<unknown> {
    try {
      return await request();
    } catch (error) {
      throw safeError(error, this.secrets);
    }
  }
}

function parseKey(body: unknown): TransitKey {
  const data = (body as { data?: Record<string, unknown> } | undefined)?.data;
  const keys = data?.keys;
  if (!data || typeof data.type !== 'string' || typeof data.latest_version !== 'number' || typeof keys !== 'object' || keys === null) {
    throw new VaultCallError('Vault answered with an unreadable key description', { malformed: true });
  }
  const publicKeys = new Map<number, string>();
  for (const [version, entry] of Object.entries(keys as Record<string, unknown>)) {
    const publicKey = (entry as { public_key?: unknown } | null)?.public_key;
    if (typeof publicKey === 'string' && publicKey !== '') publicKeys.set(Number(version), publicKey);
  }
  return {
    type: data.type,
    latestVersion: data.latest_version,
    minEncryptionVersion: typeof data.min_encryption_version === 'number' ? data.min_encryption_version : 0,
    publicKeys,
  };
}

/** node-vault's error reduced to what is safe to show and keep as a cause. */
function safeError(error: unknown, secrets: readonly string[]): VaultCallError {
  // The token given in options is not in the environment, so it is named to core's redaction.
  const clean = (text: string) => redactSecrets(text, secrets);
  const response = (error as { response?: { statusCode?: unknown; body?: unknown } } | null)?.response;
  if (response && typeof response.statusCode === 'number') {
    const body = response.body as { errors?: unknown } | undefined;
    const errors = Array.isArray(body?.errors) ? body.errors.map((e) => clean(String(e))) : [];
    const said = errors.length > 0 ? `: ${errors.join('; ')}` : '';
    return new VaultCallError(`Vault answered HTTP ${response.statusCode}${said}`, { status: response.statusCode, errors });
  }
  const code = (error as { code?: unknown } | null)?.code;
  const message = clean((error as Error | null)?.message ?? String(error));
  return new VaultCallError(message, { code: typeof code === 'string' ? code : undefined });
}

/** What kind of failure a Transit call met, for callRemote. */
export function classify(error: unknown): Failure {
  if (!(error instanceof VaultCallError)) return { kind: 'unavailable', detail: (error as Error)?.message };
  if (error.malformed) return { kind: 'corrupt', detail: error.message };
  const status = error.status;
  // No answer at all: refused, reset, timed out, or TLS failed. All may pass; retried.
  if (status === undefined) return { kind: 'unavailable', detail: error.message };
  const said = error.errors.join('; ');
  const detail = said || `HTTP ${status}`;
  if (status === 400 || status === 500) {
    // Transit reports problems with the key itself as 400 (or, wrapped, 500) with these words.
    if (/key not found/i.test(said)) return { kind: 'not-found', detail };
    if (/less than the minimum encryption key version/i.test(said)) return { kind: 'disabled', detail };
    if (/higher than the latest key version|key version not found/i.test(said)) return { kind: 'not-found', detail };
    if (/does not support signing|signing not supported/i.test(said)) return { kind: 'invalid', detail };
  }
  if (status === 503 && /sealed/i.test(said)) return { kind: 'unavailable', detail: 'Vault is sealed' };
  // A performance standby that has not caught up yet answers 412; asking again is Vault's advice.
  if (status === 412) return { kind: 'unavailable', detail };
  if (status === 404) return { kind: 'not-found', detail: said || 'no such key' };
  return failureFromStatus(status, detail);
}
