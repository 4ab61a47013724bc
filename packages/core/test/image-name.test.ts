import { canonicalImagePattern, parseImageName } from '../src';

const name = (value: string) => {
  const { registry, repository } = parseImageName(value);
  return `${registry}/${repository}`;
};

describe('parseImageName', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx'],
    ['acme/shop', 'docker.io/acme/shop'],
    ['docker.io/nginx', 'docker.io/library/nginx'],
    ['ghcr.io/acme/shop', 'ghcr.io/acme/shop'],
    ['localhost/shop', 'localhost/shop'],
    ['127.0.0.1:5000/shop', '127.0.0.1:5000/shop'],
    ['[::1]:5000/shop', '[::1]:5000/shop'],
  ])('reads %s as Docker does: %s', (value, expected) => {
    expect(name(value)).toBe(expected);
  });

  // Each spelling is read by Docker, containerd or Node's fetch as the same repository.
  it.each([
    ['GHCR.io/acme/shop', 'ghcr.io/acme/shop'],
    ['ghcr.io:443/acme/shop', 'ghcr.io/acme/shop'],
    ['ghcr.io:00443/acme/shop', 'ghcr.io/acme/shop'],
    ['ghcr.io./acme/shop', 'ghcr.io/acme/shop'],
    ['GHCR.IO.:443/acme/shop', 'ghcr.io/acme/shop'],
    ['127.0.0.1:05000/shop', '127.0.0.1:5000/shop'],
    ['LOCALHOST/shop', 'localhost/shop'],
    ['Localhost:5000/shop', 'localhost:5000/shop'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx'],
    ['index.docker.io/nginx', 'docker.io/library/nginx'],
    ['registry-1.docker.io/acme/shop', 'docker.io/acme/shop'],
    ['registry.hub.docker.com/nginx', 'docker.io/library/nginx'],
    ['Docker.IO:443/nginx', 'docker.io/library/nginx'],
    ['[0:0:0:0:0:0:0:1]:5000/shop', '[::1]:5000/shop'],
    ['[FE80::0001]/shop', '[fe80::1]/shop'],
    ['[::1]:443/shop', '[::1]/shop'],
    ['[::ffff:7f00:1]:5000/shop', '127.0.0.1:5000/shop'],
  ])('folds %s into %s', (value, expected) => {
    expect(name(value)).toBe(expected);
  });

  it.each([
    ['ghcr.io:80/acme/shop', 'port 80 is plain HTTP'],
    ['127.1:5000/shop', 'is not a dotted-decimal IPv4 address'],
    ['0x7f.0.0.1/shop', 'is not a dotted-decimal IPv4 address'],
    ['010.0.0.1/shop', 'is not a dotted-decimal IPv4 address'],
    ['256.0.0.1/shop', 'is not a dotted-decimal IPv4 address'],
    ['ghcr.io:0/acme/shop', 'is not a port number'],
    ['ghcr.io:65536/acme/shop', 'is not a port number'],
    ['ghcr.io:https/acme/shop', 'is not HOST[:PORT]'],
    ['ghcr%2eio/acme/shop', '"ghcr%2eio" is not a valid repository name component'],
    ['ghcr.io%2facme/shop', 'is not a host name'],
    ['ɡhcr.io/acme/shop', 'is not a host name'],
    ['ｇhcr.io/acme/shop', 'is not a host name'],
    ['ghcr..io/acme/shop', 'is not a host name'],
    ['-ghcr.io/acme/shop', 'is not a host name'],
    ['[::ffff:127.0.0.1]/shop', 'is not an IPv6 address'],
    ['[fe80::1%25eth0]/shop', 'is not an IPv6 address'],
    ['[::1/shop', 'opens an IPv6 address'],
    ['Acme/shop', 'a registry to Docker only for its capital letters'],
    ['ghcr.io/Acme/shop', '"Acme" is not a valid repository name component'],
    ['ghcr.io/acme%2fshop', 'is not a valid repository name component'],
    ['ghcr.io/acme//shop', '"" is not a valid repository name component'],
  ])('refuses %s', (value, message) => {
    expect(() => parseImageName(value)).toThrow(expect.objectContaining({ code: 'E_INPUT', message: expect.stringContaining(message) }));
  });
});

describe('canonicalImagePattern', () => {
  it.each([
    ['**', '**'],
    ['ghcr.io/acme/**', 'ghcr.io/acme/**'],
    ['ghcr.io:443/acme/**', 'ghcr.io/acme/**'],
    ['ghcr.io./acme/*', 'ghcr.io/acme/*'],
    ['127.0.0.1:05000/shop/**', '127.0.0.1:5000/shop/**'],
    ['index.docker.io/acme/*', 'docker.io/acme/*'],
    ['registry-1.docker.io/library/nginx', 'docker.io/library/nginx'],
    ['nginx', 'docker.io/library/nginx'],
    ['acme/*', 'docker.io/acme/*'],
    ['docker.io/nginx', 'docker.io/library/nginx'],
    ['docker.io/ngin?', 'docker.io/library/ngin?'],
    ['docker.io/**', 'docker.io/**'],
    ['127.0.0.1:*/**', '127.0.0.1:*/**'],
    ['*/acme/app', '*/acme/app'],
    ['{ghcr.io,quay.io}/acme/**', '{ghcr.io,quay.io}/acme/**'],
  ])('puts %s in the spelling of image names: %s', (glob, expected) => {
    expect(canonicalImagePattern(glob)).toBe(expected);
  });

  it.each([
    ['GHCR.io/acme/**', 'can never match: image names are read in lower case; write "ghcr.io/acme/**"'],
    ['ghcr.io/Acme/**', 'can never match: image names are read in lower case'],
    ['ɡhcr.io/acme/**', 'can never match: image names are ASCII'],
    ['ghcr.io:80/acme/**', 'can never match: port 80 is plain HTTP'],
    ['127.1:*/**', 'can never match: "127.1" is not a dotted-decimal IPv4 address'],
    ['*:443/**', 'can never match: image names carry no :443'],
    ['*.io:0*/**', 'can never match: image names carry no :443, :80 or leading zeros'],
    ['{ghcr.io.,quay.io}/**', 'can never match: image names carry no trailing dot'],
    ['{index.docker.io,ghcr.io}/**', 'can never match: image names call index.docker.io docker.io'],
    ['[::1]:5000/**', 'can never match: "[" starts a character class'],
    ['ngin*', 'can never match: an image name is REGISTRY/REPOSITORY'],
    ['ghcr.io/acme/app:1.0', 'names a tag or digest'],
    ['ghcr.io/acme/app@sha256:*', 'names a tag or digest'],
  ])('refuses %s', (glob, message) => {
    expect(() => canonicalImagePattern(glob)).toThrow(
      expect.objectContaining({ code: 'E_INPUT', message: expect.stringContaining(message) }),
    );
  });
});
