const base = require('@signet/jest-config')(__dirname);

// The sources are ES modules importing './x.js'; jest (CommonJS, through swc) finds './x.ts'.
module.exports = { ...base, moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1', ...base.moduleNameMapper } };
