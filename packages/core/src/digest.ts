import { isUtf8 } from 'node:buffer';
import crypto from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import type { Readable } from 'node:stream';
import type { HashAlgorithm } from './algorithms';
import { SignetError } from './errors';

/** Digests by algorithm, as raw bytes. */
export type Digests = Partial<Record<HashAlgorithm, Buffer>>;

/** Called as bytes are hashed, for progress bars on long inputs. */
export type ProgressListener = (bytesDone: number, bytesTotal: number) => void;

export interface DigestFileOptions {
  onProgress?: ProgressListener;
}

// Two buffers: the kernel fills one (on libuv's thread pool) while the other is hashed,
// so reading and hashing overlap and memory stays at 2 x CHUNK whatever the file size.
const CHUNK = 4 * 1024 * 1024;

/**
 * Hashes a file with every algorithm asked for, in one streaming pass. Refuses a
 * directory, a missing file and an empty file with E_INPUT: signing nothing is
 * always a mistake.
 */
export async function digestFile(
  path: string,
  algorithms: readonly HashAlgorithm[],
  options: DigestFileOptions = {},
): Promise<{ digests: Digests; size: number }> {
  const handle = await openRegularFile(path);
  try {
    const { size } = await handle.stat();
    if (size === 0) throw emptyFile(path);
    const hashes = algorithms.map((algorithm) => crypto.createHash(algorithm));
    const buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let current: 0 | 1 = 0;
    let done = 0;
    let pending = handle.read(buffers[current], 0, CHUNK, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const filled = buffers[current];
      current = current === 0 ? 1 : 0;
      pending = handle.read(buffers[current], 0, CHUNK, null);
      const chunk = bytesRead === CHUNK ? filled : filled.subarray(0, bytesRead);
      for (const hash of hashes) hash.update(chunk);
      done += bytesRead;
      options.onProgress?.(done, size);
    }
    return { digests: collect(algorithms, hashes), size: done };
  } finally {
    await handle.close();
  }
}

/** Hashes a stream with every algorithm asked for, in one pass. */
export async function digestStream(stream: Readable, algorithms: readonly HashAlgorithm[]): Promise<{ digests: Digests; size: number }> {
  const hashes = algorithms.map((algorithm) => crypto.createHash(algorithm));
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    for (const hash of hashes) hash.update(bytes);
    size += bytes.length;
  }
  return { digests: collect(algorithms, hashes), size };
}

/** Hashes bytes already in memory. */
export function digestBytes(bytes: Uint8Array, algorithms: readonly HashAlgorithm[]): Digests {
  return collect(
    algorithms,
    algorithms.map((algorithm) => crypto.createHash(algorithm).update(bytes)),
  );
}

function collect(algorithms: readonly HashAlgorithm[], hashes: crypto.Hash[]): Digests {
  const digests: Digests = {};
  algorithms.forEach((algorithm, i) => {
    digests[algorithm] = hashes[i]?.digest();
  });
  return digests;
}

/**
 * Files up to this size are read into memory and signed or verified by OpenSSL in one
 * native call; larger ones are hashed streaming and their digest is signed or verified.
 */
export const IN_MEMORY_LIMIT = 64 * 1024 * 1024;

/** The file's bytes when it is small enough to hold in memory, else undefined (stream it). */
export async function readSmallFile(path: string): Promise<Buffer | undefined> {
  const handle = await openRegularFile(path);
  try {
    const { size } = await handle.stat();
    if (size === 0) throw emptyFile(path);
    if (size > IN_MEMORY_LIMIT) return undefined;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Checks that a path is a readable, non-empty regular file, so a command can refuse bad input before it writes anything. */
export async function assertArtifactFile(path: string): Promise<void> {
  const handle = await openRegularFile(path);
  try {
    if ((await handle.stat()).size === 0) throw emptyFile(path);
  } finally {
    await handle.close();
  }
}

function emptyFile(path: string): SignetError {
  return new SignetError({ code: 'E_INPUT', message: `${path} is empty; there is nothing to sign or verify` });
}

/**
 * Opens a path for reading, with one clear E_INPUT error for each way it can be unusable.
 * Only a regular file is read: the path is opened without blocking (a FIFO or a device
 * opened plainly would wait forever for a writer) and its type is checked on the open
 * descriptor, so a path swapped between a check and the open is still caught.
 */
export async function openRegularFile(path: string): Promise<fs.FileHandle> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, NONBLOCKING_READ);
  } catch (cause) {
    throw inputError(path, cause);
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw notRegular(path, stat);
  }
  return handle;
}

/** openRegularFile, synchronously: a file descriptor of a regular file. */
export function openRegularFileSync(path: string): number {
  let fd: number;
  try {
    fd = fsSync.openSync(path, NONBLOCKING_READ);
  } catch (cause) {
    throw inputError(path, cause);
  }
  const stat = fsSync.fstatSync(fd);
  if (!stat.isFile()) {
    fsSync.closeSync(fd);
    throw notRegular(path, stat);
  }
  return fd;
}

/** A regular file's bytes; anything larger than `limit.bytes` is refused, with `limit.error`, without being read. */
export async function readRegularFile(path: string, limit?: { bytes: number; error: (size: number) => SignetError }): Promise<Buffer> {
  const handle = await openRegularFile(path);
  try {
    const { size } = await handle.stat();
    if (limit && size > limit.bytes) throw limit.error(size);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** readRegularFile, synchronously. */
export function readRegularFileSync(path: string): Buffer {
  const fd = openRegularFileSync(path);
  try {
    return fsSync.readFileSync(fd);
  } finally {
    fsSync.closeSync(fd);
  }
}

const NONBLOCKING_READ = fsSync.constants.O_RDONLY | (fsSync.constants.O_NONBLOCK ?? 0);

function notRegular(path: string, stat: fsSync.Stats): SignetError {
  const kind = stat.isDirectory()
    ? 'a directory; give a file'
    : stat.isFIFO()
      ? 'a FIFO (named pipe), not a regular file; refusing to read it'
      : stat.isSocket()
        ? 'a socket, not a regular file; refusing to read it'
        : stat.isCharacterDevice() || stat.isBlockDevice()
          ? 'a device, not a regular file; refusing to read it'
          : 'not a regular file; give a file';
  return new SignetError({ code: 'E_INPUT', message: `${path} is ${kind}` });
}

export function inputError(path: string, cause: unknown): SignetError {
  const code = (cause as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? nameNotUtf8(path)
        ? 'exists, but its name is not valid UTF-8, and Node.js cannot open a file by such a name: rename it'
        : 'does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'cannot be read (permission denied)'
        : code === 'EISDIR'
          ? 'is a directory; give a file'
          : `cannot be read (${code ?? 'unknown error'})`;
  return new SignetError({ code: 'E_INPUT', message: `${path} ${reason}`, cause });
}

/**
 * Whether a path that was not found names a file whose name is not UTF-8: Node decodes such
 * a command-line argument with U+FFFD for each bad byte, so the file it names cannot be found
 * by that string, though the folder lists it.
 */
function nameNotUtf8(path: string): boolean {
  if (!path.includes('\uFFFD')) return false;
  let names: Buffer[];
  try {
    names = fsSync.readdirSync(nodePath.dirname(path), { encoding: 'buffer' });
  } catch {
    return false;
  }
  const base = nodePath.basename(path);
  return names.some((name) => !isUtf8(name) && name.toString('utf8') === base);
}
