// Imported first by tests in which the SDK builds its own gRPC channel, as it does in
// production: grpc-js reads GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when it is loaded (and the
// file on first use), so the path is set before any import loads grpc-js, and the test
// writes the emulator's CA there once the emulator has made it.
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_ROOTS_FILE = path.join(os.tmpdir(), `signet-gcpkms-roots-${process.pid}-${Date.now()}.pem`);
process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = DEFAULT_ROOTS_FILE;
