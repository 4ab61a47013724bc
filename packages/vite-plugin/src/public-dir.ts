import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from './vite-types';

/**
 * The files Vite copies from `publicDir` into the output folder. They never pass through
 * the bundle: Vite copies them when rendering starts (`vite:prepare-out-dir`), so the
 * plugin reads them from where Vite copies them from, as Vite does (following links).
 */
export async function publicFiles(config: ResolvedConfig): Promise<{ name: string; data: Buffer }[]> {
  const { publicDir, build } = config;
  if (!build.write || !build.copyPublicDir || !publicDir) return [];
  const files: { name: string; data: Buffer }[] = [];
  const visit = async (relative: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(publicDir, relative))) {
      const name = relative ? `${relative}/${entry}` : entry;
      const full = path.join(publicDir, name);
      if ((await fs.stat(full)).isDirectory()) await visit(name);
      else files.push({ name, data: await fs.readFile(full) });
    }
  };
  const exists = await fs.stat(publicDir).then(
    (stat) => stat.isDirectory(),
    () => false,
  );
  if (exists) await visit('');
  return files;
}
