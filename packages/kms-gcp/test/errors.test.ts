// What the real SDK throws for each answer the service gives, over both transports, as Signet classifies it.

import { KeyManagementServiceClient } from '@google-cloud/kms';
import type { Fault } from '@signet/emulators';
import { grpcStatusFault } from '@signet/emulators/gcp-kms';
import { clientSettings } from '../src/client';
import { cloudKmsFailure } from '../src/errors';
import { clientOptions, keyName, type Transport, useEmulator } from './support';

const emulator = useEmulator();
const VERSION = `${keyName('errors')}/cryptoKeyVersions/1`;

beforeAll(() => emulator.seedKey(keyName('errors')));

describe.each<Transport>(['grpc', 'rest'])('over %s', (transport) => {
  async function failure(fault: Fault) {
    const client = new KeyManagementServiceClient(clientSettings(clientOptions(emulator, transport), {}));
    emulator.faults.add({ fault, operation: 'GetPublicKey' });
    const error = await client.getPublicKey({ name: VERSION }, { retry: null }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await client.close();
    return cloudKmsFailure(error);
  }

  test.each([
    [grpcStatusFault(5), 'not-found', 5],
    [grpcStatusFault(7), 'permission', 7],
    [grpcStatusFault(8), 'throttled', 8],
    [grpcStatusFault(9), 'disabled', 9],
    [grpcStatusFault(14), 'unavailable', 14],
    [grpcStatusFault(16), 'unauthenticated', 16],
    [grpcStatusFault(3), 'invalid', 3],
    [{ kind: 'custom', name: 'pending-generation' }, 'unavailable', 9],
  ] as const)('%j is %s (code %i)', async (fault, kind, code) => {
    const classified = await failure(fault);
    expect(classified.failure.kind).toBe(kind);
    expect(classified.code).toBe(code);
  });

  test("throttling's RetryInfo (and Retry-After on REST) becomes the wait", async () => {
    const classified = await failure({ kind: 'throttle', retryAfterSeconds: 2 });
    expect(classified.failure).toMatchObject({ kind: 'throttled', retryAfterMs: 2000 });
  });

  test('the service’s own message is kept as the detail', async () => {
    const classified = await failure(grpcStatusFault(5));
    expect(classified.failure.detail).toBe(`NOT_FOUND: ${VERSION} not found.`);
  });
});
