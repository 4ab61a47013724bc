// The jest preset every Signet package extends: TypeScript sources run through
// @swc/jest (no type-check here; `npm run build` does that), and `@signet/*`
// imports resolve to each package's src/ so tests never run stale builds.
const path = require('node:path');

const root = path.resolve(__dirname, '../..');

/** @param {string} packageDir the package's own directory (pass __dirname) */
module.exports = function jestConfig(packageDir) {
  return {
    rootDir: packageDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: {
      '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
    },
    moduleNameMapper: {
      '^@signet/(core|cli|kms-[a-z]+|pkcs11|npm|vite-plugin|webpack-plugin|lambda|oci|monitor)$': `${root}/packages/$1/src/index.ts`,
      '^@signet/emulators$': `${root}/tooling/emulators/src/index.ts`,
      '^@signet/emulators/(.*)$': `${root}/tooling/emulators/src/$1`,
      '^@signet/test-support$': `${root}/tooling/test-support/src/index.ts`,
      '^@signet/admission$': `${root}/apps/admission/src/index.ts`,
    },
    setupFilesAfterEnv: [path.join(__dirname, 'setup.js')],
    testTimeout: 60_000,
    // A run under another Node.js line (.ci/run: SIGNET_TEST_NODE=22) reports beside the main one.
    reporters: [
      'default',
      [
        path.join(__dirname, 'json-reporter.js'),
        {
          outputFile: path.join(
            packageDir,
            `reports/jest${process.env.SIGNET_TEST_NODE ? `-node${process.env.SIGNET_TEST_NODE}` : ''}.json`,
          ),
        },
      ],
    ],
  };
};
