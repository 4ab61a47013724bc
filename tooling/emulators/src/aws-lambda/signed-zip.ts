import crypto from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import yauzl from 'yauzl';
import yazl from 'yazl';

/**
 * How the emulated Signer marks the zips it signs. Real AWS Signer embeds an ECDSA P-384
 * signature in the signed package; here the signed copy is the source's entries written
 * again (same names, contents, modification times and modes) with an archive comment naming
 * the signing job, and the job's record (profile version, SHA-384 of the whole signed
 * archive) stands in for the signature. What this keeps from the real thing: the signature
 * travels with the bytes (the signed copy differs from its source, so the source itself
 * does not pass as signed), and any change to the signed archive breaks its integrity.
 * yauzl reads the archives and yazl writes them: no zip format code here.
 */
const MARKER = 'aws-signer-emulator signature; job ';

function open(zip: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, zipfile) => (error ? reject(error) : resolve(zipfile))),
  );
}

/** Calls `each` on every entry of the archive in turn (awaiting it before the next); rejects on the first error. */
function forEachEntry(zipfile: yauzl.ZipFile, each: (entry: yauzl.Entry) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    zipfile.on('error', reject);
    zipfile.on('end', () => resolve());
    zipfile.on('entry', (entry: yauzl.Entry) =>
      each(entry).then(
        () => zipfile.readEntry(),
        (error: unknown) => {
          zipfile.close();
          reject(error);
        },
      ),
    );
    zipfile.readEntry();
  });
}

function contentOf(zipfile: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zipfile.openReadStream(entry, (error, stream) => (error ? reject(error) : buffer(stream).then(resolve, reject))),
  );
}

/** Whether the bytes are a zip archive: yauzl opens it and reads its central directory. */
export async function isZip(bytes: Buffer): Promise<boolean> {
  try {
    await forEachEntry(await open(bytes), async () => {});
    return true;
  } catch {
    return false;
  }
}

/** What the job record keeps and Lambda's integrity check compares: SHA-384 of the whole signed archive. */
export function archiveDigest(zip: Buffer): string {
  return crypto.createHash('sha384').update(zip).digest('hex');
}

/** The signed copy: the archive's entries written again, with a comment naming the signing job. */
export async function embedSignature(zip: Buffer, jobId: string): Promise<Buffer> {
  const source = await open(zip);
  const signed = new yazl.ZipFile();
  const output = buffer(signed.outputStream);
  await forEachEntry(source, async (entry) => {
    const options = { mtime: entry.getLastModDate(), mode: entry.externalFileAttributes >>> 16 };
    if (entry.fileName.endsWith('/')) signed.addEmptyDirectory(entry.fileName, options);
    else signed.addBuffer(await contentOf(source, entry), entry.fileName, { ...options, compress: entry.compressionMethod !== 0 });
  });
  signed.end({ comment: `${MARKER}${jobId}`, forceZip64Format: false });
  return output;
}

/** The signing job a signed archive names, or undefined for an unsigned one (or bytes that are no zip). */
export async function signingJobOf(zip: Buffer): Promise<string | undefined> {
  try {
    const zipfile = await open(zip);
    zipfile.close();
    return zipfile.comment.startsWith(MARKER) ? zipfile.comment.slice(MARKER.length) : undefined;
  } catch {
    return undefined;
  }
}
