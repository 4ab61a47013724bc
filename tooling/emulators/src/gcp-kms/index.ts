import type { GcpKmsEmulator } from './emulator';

export type { ServiceAccountKey } from './auth';
export { ANSWER_LOST, type Denial, GcpKmsEmulator, grpcStatusFault, PENDING_GENERATION } from './emulator';
export type { VersionState } from './enums';
export { Code } from './status';

/**
 * The environment that points a child process using Google's default credential chain
 * (the `signet` CLI) at the emulator:
 * - gRPC over HTTPS (the default): `CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS=https://127.0.0.1:PORT/`,
 *   the test CA in `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` (grpc-js) and `NODE_EXTRA_CA_CERTS`;
 * - REST over plain HTTP (`transport: 'rest'`): the override is `http://127.0.0.1:PORT/`;
 * - credentials: the default service account's key file in `GOOGLE_APPLICATION_CREDENTIALS`,
 *   and `METADATA_SERVER_DETECTION=none` so nothing probes the GCE metadata server;
 * - `--disable-warning=DEP0123`: grpc-js sets the TLS server name even to an IP address,
 *   which Node warns about once per process (real endpoints are host names).
 */
export function envFor(emulator: GcpKmsEmulator, options: { transport?: 'grpc' | 'rest' } = {}): Record<string, string> {
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: options.transport === 'rest' ? `${emulator.url}/` : emulator.endpoint,
    GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: emulator.caFile,
    NODE_EXTRA_CA_CERTS: emulator.caFile,
    GOOGLE_APPLICATION_CREDENTIALS: emulator.credentialsFile,
    METADATA_SERVER_DETECTION: 'none',
    NODE_OPTIONS: '--disable-warning=DEP0123',
  };
}
