import zlib from 'node:zlib';
import { SignetError } from '@signet/core';

/** A regular file in an npm tarball, by its path inside the package (without npm's `package/`). */
export interface TarballFile {
  path: string;
  data: Buffer;
}

const BLOCK = 512;

/**
 * The regular files of a gzipped tar as `npm pack` writes it: ustar headers, with pax (and GNU)
 * records for long paths. Read whole: it is the package npm packed a moment ago from the
 * maintainer's own folder.
 */
export function tarballFiles(gzipped: Buffer): TarballFile[] {
  const tar = zlib.gunzipSync(gzipped);
  const files: TarballFile[] = [];
  let longPath: string | undefined;
  for (let offset = 0; offset + BLOCK <= tar.length; ) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header.subarray(124, 136));
    const type = header[156] === 0 ? '0' : String.fromCharCode(header[156] as number);
    const body = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') longPath = paxPath(body) ?? longPath;
    else if (type === 'L') longPath = cString(body);
    else if (type !== 'g') {
      const name = longPath ?? [cString(header.subarray(345, 500)), cString(header.subarray(0, 100))].filter(Boolean).join('/');
      longPath = undefined;
      if (type === '0' || type === '7') files.push({ path: name.replace(/^package\//, ''), data: Buffer.from(body) });
    }
  }
  return files;
}

function octal(field: Buffer): number {
  const text = cString(field).trim();
  if (!/^[0-7]+$/.test(text))
    throw new SignetError({ code: 'E_INPUT', message: 'the packed tarball has an entry whose size is not octal' });
  return Number.parseInt(text, 8);
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** The `path` record of a pax extended header ("LENGTH path=VALUE\n" records). */
function paxPath(body: Buffer): string | undefined {
  let path: string | undefined;
  for (let offset = 0; offset < body.length; ) {
    const space = body.indexOf(0x20, offset);
    const length = Number.parseInt(body.subarray(offset, space).toString('ascii'), 10);
    if (space === -1 || !(length > 0)) break;
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    if (record.startsWith('path=')) path = record.slice('path='.length);
    offset += length;
  }
  return path;
}
