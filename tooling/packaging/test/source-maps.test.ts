// A source map in a tarball leads to source that is in the tarball too, or carries it.
import fs from 'node:fs';
import path from 'node:path';
import { packedFiles, publishedPackages } from './support/published';

interface SourceMap {
  sourceRoot?: string;
  sources: string[];
  sourcesContent?: (string | null)[];
}

describe.each(publishedPackages().map((pkg) => [pkg.name, pkg.dir] as const))('%s', (_name, dir) => {
  test("every source map's sources are shipped or embedded", () => {
    const files = new Set(packedFiles(dir).map((file) => file.path));
    const maps = [...files].filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const unreachable: string[] = [];
    for (const mapFile of maps) {
      const map = JSON.parse(fs.readFileSync(path.join(dir, mapFile), 'utf8')) as SourceMap;
      map.sources.forEach((source, i) => {
        const shipped = path.posix.join(path.posix.dirname(mapFile), map.sourceRoot ?? '', source);
        if (!files.has(shipped) && typeof map.sourcesContent?.[i] !== 'string') unreachable.push(`${mapFile} -> ${source}`);
      });
    }
    expect(unreachable).toEqual([]);
  });
});
