import fs from 'node:fs';
import { SignetError } from '@signet/core';

/**
 * A folder given to `sign` or `verify`, which take files: the command that takes folders is
 * named, rather than reporting the folder's missing bundle or that it is not a file.
 */
export function refuseFolder(path: string, command: 'sign-dir' | 'verify-dir'): void {
  if (!fs.statSync(path, { throwIfNoEntry: false })?.isDirectory()) return;
  throw new SignetError({
    code: 'E_INPUT',
    message: `${path} is a folder; ${command === 'sign-dir' ? 'sign' : 'verify'} a folder as one build with: signet ${command} ${path}`,
  });
}
