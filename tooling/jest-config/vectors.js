// Locates ../shared/vectors, the independent test material that is read in place and
// never copied into the repository. SIGNET_VECTORS overrides the search.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');

function vectorsDir() {
  const candidates = [process.env.SIGNET_VECTORS, path.join(root, '../shared/vectors'), '/work/shared/vectors'];
  return candidates.find((dir) => dir && fs.existsSync(path.join(dir, 'README.md')));
}

module.exports = { vectorsDir, repoRoot: root };
