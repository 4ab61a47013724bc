// A copy of the repository to release from, so that `changeset version` and the build never
// touch the real tree: the files git knows (tracked, and new ones not ignored: what a commit of
// the work in progress would hold), each workspace's dist/ with its timestamps (the build then
// redoes only what the release changed), and a node_modules whose third-party entries link to
// the repository's installed ones while @signet/* link to the copy's own workspaces.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function copyRepository(root: string, destination: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const file of listed.split('\0')) {
    if (!file) continue;
    const from = path.join(root, file);
    // A tracked file deleted in the work tree is not part of it.
    if (!fs.lstatSync(from, { throwIfNoEntry: false })) continue;
    fs.mkdirSync(path.dirname(path.join(destination, file)), { recursive: true });
    fs.cpSync(from, path.join(destination, file), { preserveTimestamps: true, verbatimSymlinks: true });
  }

  const workspaces = workspaceFolders(root);
  for (const workspace of workspaces) {
    const dist = path.join(root, workspace, 'dist');
    if (fs.existsSync(dist)) fs.cpSync(dist, path.join(destination, workspace, 'dist'), { recursive: true, preserveTimestamps: true });
    // A workspace's own node_modules holds only third-party versions that differ from the root's.
    const own = path.join(root, workspace, 'node_modules');
    if (fs.existsSync(own)) fs.symlinkSync(own, path.join(destination, workspace, 'node_modules'));
  }

  const modules = path.join(root, 'node_modules');
  fs.mkdirSync(path.join(destination, 'node_modules'));
  for (const entry of fs.readdirSync(modules)) {
    const from = path.join(modules, entry);
    const to = path.join(destination, 'node_modules', entry);
    if (entry === '@signet' || entry === '.bin') {
      // Relative links (../../packages/cli, ../@signet/cli/bin/signet.js): copied as they are,
      // they lead into the copy.
      fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    } else if (!entry.startsWith('.')) {
      fs.symlinkSync(from, to);
    }
  }
}

/** The workspace folders (packages/cli, …) the root package.json's globs name: DIR/* only, as this repository has them. */
export function workspaceFolders(root: string): string[] {
  const globs = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return globs.flatMap((glob) => {
    if (!/^[\w.-]+\/\*$/.test(glob)) throw new Error(`workspace glob ${glob} is not DIR/*`);
    const parent = glob.slice(0, -2);
    return fs
      .readdirSync(path.join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(root, parent, entry.name, 'package.json')))
      .map((entry) => path.join(parent, entry.name));
  });
}
