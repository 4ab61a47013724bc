import crypto, { type KeyObject } from 'node:crypto';
import type { TrustedRoot } from '@signet/core';

/*
 * Checkpoints (c2sp.org/tlog-checkpoint) are signed notes (c2sp.org/signed-note): the text
 * "ORIGIN\nSIZE\nBASE64_ROOT\n[other lines\n]", a blank line, then one line per signature,
 * "— NAME BASE64(key ID[4] ‖ signature)". The key is found by that ID among the trusted root's
 * transparency logs: for Ed25519 (Rekor v2) SHA-256(NAME ‖ 0x0A ‖ 0x01 ‖ key)[:4]; for ECDSA
 * and RSA (Rekor v1) SHA-256(SPKI)[:4], the start of the log ID.
 */

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** The note as received, signature lines included. */
  text: string;
}

/** A transparency log's key from the trusted root. */
interface LogKey {
  key: KeyObject;
  /** The log ID (hex), as entries and ledgers name the log. */
  logId: string;
  baseUrl: string;
  ed25519: boolean;
  /** The 4-byte note key ID for a signature line naming `name`. */
  keyId(name: string): Buffer;
}

/** Why a checkpoint was not accepted. */
export class CheckpointError extends Error {}

export function logKeys(root: TrustedRoot): LogKey[] {
  const keys: LogKey[] = [];
  for (const log of root.tlogs) {
    const raw = log.publicKey?.rawBytes;
    if (!raw || raw.length === 0) continue;
    let key: KeyObject;
    try {
      key = crypto.createPublicKey({ key: Buffer.from(raw), format: 'der', type: 'spki' });
    } catch {
      continue;
    }
    const spki = Buffer.from(raw);
    const ed25519 = key.asymmetricKeyType === 'ed25519';
    const spkiId = crypto.createHash('sha256').update(spki).digest().subarray(0, 4);
    keys.push({
      key,
      logId: Buffer.from(log.logId?.keyId ?? []).toString('hex'),
      baseUrl: log.baseUrl,
      ed25519,
      keyId: ed25519
        ? (name) =>
            crypto
              .createHash('sha256')
              .update(`${name}\n`)
              .update(Buffer.from([0x01]))
              .update(spki.subarray(spki.length - 32))
              .digest()
              .subarray(0, 4)
        : () => spkiId,
    });
  }
  return keys;
}

/** Reads a checkpoint's body; throws CheckpointError for one that is not a checkpoint. */
export function parseCheckpoint(text: string): Checkpoint {
  const split = text.indexOf('\n\n');
  if (split < 0) throw new CheckpointError('it is not a signed note (no blank line before the signatures)');
  const lines = text.slice(0, split).split('\n');
  const [origin, sizeText, rootText] = lines;
  if (!origin || !sizeText || !rootText) throw new CheckpointError('it lacks an origin, a size or a root hash');
  if (!/^(0|[1-9]\d{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw new CheckpointError(`its size "${sizeText.slice(0, 20)}" is not a number`);
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootText) throw new CheckpointError('its root hash is not 32 bytes of base64');
  return { origin, size: Number(sizeText), root, text };
}

/**
 * Verifies a checkpoint's signatures against the trusted root's log keys and returns it with
 * the ID of the log whose key signed it. At least one signature must be by a trusted log key
 * and verify; a signature line by a trusted key that does not verify fails the checkpoint.
 */
export function verifyCheckpoint(text: string, keys: readonly LogKey[]): { checkpoint: Checkpoint; logId: string } {
  const checkpoint = parseCheckpoint(text);
  const split = text.indexOf('\n\n');
  const message = Buffer.from(text.slice(0, split + 1));
  let signedBy: string | undefined;
  for (const line of text.slice(split + 2).split('\n')) {
    if (line === '') continue;
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!match) throw new CheckpointError('a signature line is malformed');
    const [, name, encoded] = match as unknown as [string, string, string];
    const signature = Buffer.from(encoded, 'base64');
    if (signature.length < 5) throw new CheckpointError('a signature is too short');
    const keyId = signature.subarray(0, 4);
    for (const log of keys) {
      if (!log.keyId(name).equals(keyId)) continue;
      const ok = log.ed25519
        ? crypto.verify(null, message, log.key, signature.subarray(4))
        : crypto.verify('sha256', message, log.key, signature.subarray(4));
      if (!ok) throw new CheckpointError(`its signature by ${name} (key ${keyId.toString('hex')}) does not verify`);
      signedBy ??= log.logId;
    }
  }
  if (signedBy === undefined) throw new CheckpointError('no signature on it is by a log key the trusted root lists');
  return { checkpoint, logId: signedBy };
}
