import { type KeyRef, SignetError } from '@signet/core';

/** An `azurekms://VAULT_HOST/KEY[/VERSION]` reference, taken apart. */
export interface AzureKeyUri {
  /** https://VAULT_HOST, the vault URL the SDK clients are built for. */
  vaultUrl: string;
  name: string;
  /** Absent: the newest enabled version. */
  version?: string;
}

const FORMAT = 'azurekms://VAULT.vault.azure.net/KEY[/VERSION]';

/** Key names are 1-127 letters, digits and dashes; versions are what the vault assigned (32 hex digits). */
const NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^[0-9A-Za-z]{1,64}$/;
/** A DNS name or IPv4 address, with a port for a private endpoint or an emulator. */
const HOST = /^([0-9A-Za-z-]+\.)*[0-9A-Za-z-]+(:\d{1,5})?$/;

/** Reads cosign's Azure key URI: the vault host (with a port, for a private endpoint), the key, its version. */
export function parseAzureKeyUri(ref: KeyRef): AzureKeyUri {
  const [host = '', name = '', version, ...rest] = ref.location.split('/');
  if (!HOST.test(host) || !NAME.test(name) || rest.length > 0 || (version !== undefined && !VERSION.test(version))) {
    throw new SignetError({
      code: 'E_INPUT',
      message: `${ref.display} is not an Azure Key Vault key reference; write ${FORMAT} (a key name is letters, digits and dashes)`,
    });
  }
  return { vaultUrl: `https://${host.toLowerCase()}`, name, version };
}
