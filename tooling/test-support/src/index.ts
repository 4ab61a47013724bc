export {
  childEnv,
  errorLines,
  generateKey,
  PASSWORD,
  type RunOptions,
  type RunResult,
  readJson,
  SIGNET,
  SIGNET_CONFORMANCE,
  sha256Hex,
  signet,
  signetAsync,
  signetOk,
  singleErrorLine,
  snapshotDir,
  tool,
  toolStatus,
  useTempDir,
  vectorsDir,
  writeFile,
} from './cli';
export { endlessBody, type LocalServer, type RecordedRequest, serveHttp } from './http-server';
export { opensslCertificate, opensslVerify, signedBytes, sigstoreVerify, verifyBundle } from './interop';
