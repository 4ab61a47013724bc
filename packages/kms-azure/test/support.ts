// Shared by this package's tests: a provider wired to the emulator through the library API,
// and the statement an attestation signs.
import crypto from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { createStatement, type KeyRef, parseKeyRef, type Statement } from '@signet/core';
import { type AzureKeyVaultEmulator, DEFAULT_CLIENT_ID } from '@signet/emulators/azure-keyvault';
import { type AzureKeyVaultProviderOptions, createAzureKeyVaultProvider } from '../src';

/** A credential for one of the emulator's applications, trusting its test CA. */
export function emulatorCredential(
  emulator: AzureKeyVaultEmulator,
  clientId = DEFAULT_CLIENT_ID,
  secret = emulator.clientSecret,
): ClientSecretCredential {
  return new ClientSecretCredential(emulator.tenantId, clientId, secret, {
    authorityHost: emulator.url,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: emulator.caPem },
  });
}

/** The provider as a library user would set it up for a private endpoint, with quick retries. */
export function emulatorProvider(emulator: AzureKeyVaultEmulator, options: AzureKeyVaultProviderOptions = {}) {
  return createAzureKeyVaultProvider({
    credential: emulatorCredential(emulator),
    clientOptions: { tlsOptions: { ca: emulator.caPem } },
    disableChallengeResourceVerification: true,
    attempts: 3,
    baseDelayMs: 1,
    ...options,
  });
}

export function ref(emulator: AzureKeyVaultEmulator, name: string, version?: string): KeyRef {
  return parseKeyRef(emulator.keyUri(name, version));
}

export const CYCLONEDX = 'https://cyclonedx.org/bom';

/** An in-toto statement over `artifact`, with a CycloneDX predicate. */
export function statementFor(artifact: Buffer): Statement {
  return createStatement(
    [{ name: 'artifact.bin', digest: { sha256: crypto.createHash('sha256').update(artifact).digest('hex') } }],
    CYCLONEDX,
    { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 },
  );
}
