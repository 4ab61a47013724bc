// The entry of a test build's child process: TypeScript through @swc/core, and
// @signet/webpack-plugin from src/ (as jest maps it), so a test never runs a stale dist/.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const PLUGIN_SOURCE = path.resolve(__dirname, '../../src/index.ts');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolvePlugin(request, ...rest) {
  return request === '@signet/webpack-plugin' ? PLUGIN_SOURCE : resolveFilename.call(this, request, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

require('./build-child.ts');
