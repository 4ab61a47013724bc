// Options are checked when the plugin is made, before any build.
import { isSignetError } from '@signet/core';
import defaultExport, { SignetWebpackPlugin } from '../src';

describe('the output option', () => {
  it.each([
    '../manifest.sigstore.json',
    '/etc/manifest.sigstore.json',
    'signet/../../manifest.sigstore.json',
    'signet//manifest.sigstore.json',
    './manifest.sigstore.json',
    'signet\\manifest.sigstore.json',
    '',
  ])('refuses %j, which is not a plain path inside the output folder', (output) => {
    let thrown: unknown;
    try {
      new SignetWebpackPlugin({ key: 'file:signing.key', output });
    } catch (error) {
      thrown = error;
    }
    expect(isSignetError(thrown, 'E_USAGE')).toBe(true);
    expect((thrown as Error).message).toMatch(/^SignetWebpackPlugin: output .* must be a plain posix path inside the output folder/);
  });

  it.each(['manifest.sigstore.json', 'signet/build.sigstore.json', '.well-known/signet/manifest.sigstore.json'])('accepts %j', (output) => {
    expect(() => new SignetWebpackPlugin({ key: 'file:signing.key', output })).not.toThrow();
  });

  it('is the default exported too', () => {
    expect(defaultExport).toBe(SignetWebpackPlugin);
  });
});
