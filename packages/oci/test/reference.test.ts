import { formatImageReference, parseImageReference } from '../src';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['acme/shop', { registry: 'docker.io', repository: 'acme/shop' }],
    ['index.docker.io/acme/shop:1', { registry: 'docker.io', repository: 'acme/shop', tag: '1' }],
    ['ghcr.io/acme/shop/api:v1.2.0', { registry: 'ghcr.io', repository: 'acme/shop/api', tag: 'v1.2.0' }],
    [`127.0.0.1:5000/shop@${D}`, { registry: '127.0.0.1:5000', repository: 'shop', digest: D }],
    [`localhost/shop:v1@${D}`, { registry: 'localhost', repository: 'shop', tag: 'v1', digest: D }],
  ])('reads %s as Docker does', (value, expected) => {
    expect(parseImageReference(value)).toEqual(expected);
  });

  it.each([
    [`GHCR.io:443/acme/shop:v1@${D}`, `ghcr.io/acme/shop:v1@${D}`],
    ['ghcr.io./acme/shop:v1', 'ghcr.io/acme/shop:v1'],
    ['registry-1.docker.io/nginx:1.27', 'docker.io/library/nginx:1.27'],
    [`[0::1]:05000/shop@${D}`, `[::1]:5000/shop@${D}`],
    ['LOCALHOST:5000/shop:V1', 'localhost:5000/shop:V1'],
  ])('writes %s back in its canonical spelling, %s (the tag as given: tags are case-sensitive)', (value, expected) => {
    expect(formatImageReference(parseImageReference(value))).toBe(expected);
  });

  it('writes a reference back', () => {
    expect(formatImageReference(parseImageReference(`ghcr.io/acme/shop:v1@${D}`))).toBe(`ghcr.io/acme/shop:v1@${D}`);
  });

  it.each([
    ['', 'expected REGISTRY/REPOSITORY'],
    ['ghcr.io/Acme/shop', '"Acme" is not a valid repository name component'],
    ['ghcr.io/acme/shop@sha256:abc', 'the digest must be sha256: and 64 lower-case hex digits'],
    ['ghcr.io/acme/shop:-bad', '"-bad" is not a valid tag'],
    ['ghcr.io:80/acme/shop:v1', 'port 80 is plain HTTP'],
    ['127.1:5000/shop', 'is not a dotted-decimal IPv4 address'],
  ])('refuses %j with E_INPUT', (value, message) => {
    expect(() => parseImageReference(value)).toThrow(
      expect.objectContaining({ code: 'E_INPUT', message: expect.stringContaining(message) }),
    );
  });
});
