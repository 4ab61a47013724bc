import { parseKeyRef } from '@signet/core';
import { parseAzureKeyUri } from '../src';

const parse = (uri: string) => parseAzureKeyUri(parseKeyRef(uri));

describe('azurekms:// references (cosign syntax)', () => {
  test('vault host and key: the newest enabled version', () => {
    expect(parse('azurekms://signing.vault.azure.net/release')).toEqual({
      vaultUrl: 'https://signing.vault.azure.net',
      name: 'release',
      version: undefined,
    });
  });

  test('with a version', () => {
    expect(parse('azurekms://Signing.vault.azure.net/release-2/9885aa558e8d448789683188f8c194b0')).toEqual({
      vaultUrl: 'https://signing.vault.azure.net',
      name: 'release-2',
      version: '9885aa558e8d448789683188f8c194b0',
    });
  });

  test('a Managed HSM, a sovereign cloud and a private endpoint with a port', () => {
    expect(parse('azurekms://pool.managedhsm.azure.net/k').vaultUrl).toBe('https://pool.managedhsm.azure.net');
    expect(parse('azurekms://v.vault.azure.cn/k').vaultUrl).toBe('https://v.vault.azure.cn');
    expect(parse('azurekms://127.0.0.1:8443/k').vaultUrl).toBe('https://127.0.0.1:8443');
  });

  test.each([
    'azurekms://signing.vault.azure.net',
    'azurekms://signing.vault.azure.net/',
    'azurekms://signing.vault.azure.net/release/v1/extra',
    'azurekms://signing.vault.azure.net/release_key',
    'azurekms://signing.vault.azure.net/release/',
    'azurekms:///release',
    'azurekms://user@host/release',
    'azurekms://https://signing.vault.azure.net/release',
  ])('%s is refused with the format to use', (uri) => {
    expect(() => parse(uri)).toThrow(expect.objectContaining({ code: 'E_INPUT', message: expect.stringContaining('/KEY[/VERSION]') }));
  });
});
