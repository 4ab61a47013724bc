export { type CertificateFacts, certificateFacts, FULCIO_ARC, fulcioExtensions } from './certificates';
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
export {
  type OpensslTimestamp,
  opensslCertificate,
  opensslTimestamp,
  opensslVerify,
  sameSerial,
  signedBytes,
  sigstoreVerify,
  verifyBundle,
} from './interop';
