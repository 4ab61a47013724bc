import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SignetError } from './errors';

export interface WriteFileAtomicOptions {
  /** File mode of the new file; 0o600 for anything secret. */
  mode?: number;
  /** Replace an existing file. Without it an existing file is an E_EXISTS error. */
  overwrite?: boolean;
}

/**
 * Writes a file so that no reader, and no interrupted run, ever sees half of it:
 * the bytes go to a temporary file beside the target, are flushed, and the temporary
 * file is renamed over the target. A failure removes the temporary file.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): Promise<void> {
  const { mode = 0o644, overwrite = true } = options;
  if (!overwrite && (await exists(target))) {
    throw new SignetError({
      code: 'E_EXISTS',
      message: `${target} already exists; pass --force to replace it`,
    });
  }
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temporary, 'wx', mode);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (!overwrite) {
      // link() fails if the target appeared meanwhile, where rename() would replace it.
      await fs.link(temporary, target);
      await fs.unlink(temporary);
    } else {
      await fs.rename(temporary, target);
    }
  } catch (cause) {
    await handle?.close().catch(() => undefined);
    await fs.unlink(temporary).catch(() => undefined);
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SignetError({ code: 'E_EXISTS', message: `${target} already exists; pass --force to replace it`, cause });
    }
    if (cause instanceof SignetError) throw cause;
    throw new SignetError({
      code: 'E_INPUT',
      message: `cannot write ${target}: ${(cause as Error).message}`,
      cause,
    });
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}
