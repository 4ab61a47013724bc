import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileFilter, readRegularFile, SignetError, writeFileAtomic } from '@signet/core';
import { ZipFile } from 'yazl';

/**
 * Every entry's timestamp: 1980-01-01T00:00:00 local time, the earliest a zip's DOS date can
 * say. Built from local fields because yazl writes local time, so the bytes are the same
 * in every time zone.
 */
const ZIP_EPOCH = new Date(1980, 0, 1, 0, 0, 0);

export interface PackageOptions {
  /** Globs (posix, relative to the source folder) of the files to include; default every file. */
  include?: string[];
  /** Globs of files to leave out (e.g. `**\/*.test.js`). */
  exclude?: string[];
}

export interface PackagedZip {
  path: string;
  /** The zip's sha256, hex. */
  sha256: string;
  /** What Lambda reports as the function's CodeSha256: the zip's sha256, base64. */
  codeSha256: string;
  /** The entries, in the zip's order. */
  files: string[];
  bytes: Buffer;
}

/**
 * A zip of `srcDir` whose bytes depend only on the files' relative paths, contents and
 * whether each is executable: entries sorted by path, every timestamp 1980-01-01, modes
 * normalised to 0644 or 0755, no directory entries, owners or extra fields. Two builds of
 * the same tree give the same sha256, so a signature made in CI names the zip deployed.
 * Symbolic links are followed when they stay inside the folder; one leading out is refused.
 */
export async function packageZip(srcDir: string, out: string, options: PackageOptions = {}): Promise<PackagedZip> {
  const root = await fs.realpath(srcDir).catch((cause: unknown) => {
    throw new SignetError({ code: 'E_INPUT', message: `${srcDir} is not a folder`, cause });
  });
  const selected = fileFilter(options.include ?? [], options.exclude ?? []);
  const outInside = path.relative(root, path.resolve(out));
  const files = (await listFiles(root)).filter((name) => selected(name) && name !== outInside.split(path.sep).join('/'));
  if (files.length === 0) throw new SignetError({ code: 'E_INPUT', message: `${srcDir} has no files to package` });

  const zip = new ZipFile();
  for (const name of files) {
    const full = path.join(root, name);
    const [data, stat] = await Promise.all([readRegularFile(full), fs.stat(full)]);
    const mode = stat.mode & 0o111 ? 0o100755 : 0o100644;
    zip.addBuffer(data, name, { mtime: ZIP_EPOCH, mode, compress: true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  await writeFileAtomic(out, bytes);
  const digest = crypto.createHash('sha256').update(bytes).digest();
  return { path: out, sha256: digest.toString('hex'), codeSha256: digest.toString('base64'), files, bytes };
}

/** Files under `root`, sorted posix paths (byte order, so the result is locale-independent). */
async function listFiles(root: string): Promise<string[]> {
  const names: string[] = [];
  const visit = async (relative: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(root, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      let isDirectory = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        const target = await fs.realpath(path.join(root, name)).catch(() => undefined);
        if (!target || (target !== root && !target.startsWith(`${root}${path.sep}`))) {
          throw new SignetError({ code: 'E_INPUT', message: `${name} is a symbolic link leading outside ${root}; refusing to package it` });
        }
        isDirectory = (await fs.stat(target)).isDirectory();
      }
      if (isDirectory) await visit(name);
      else if (entry.isFile() || entry.isSymbolicLink()) names.push(name);
    }
  };
  await visit('');
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
