import crypto from 'node:crypto';
import { algorithmForKey, algorithmInfo, isSignatureAlgorithm, SignetError } from '../src';

describe('algorithmForKey', () => {
  it.each([
    ['ec', { namedCurve: 'P-256' }, 'ecdsa-p256-sha256'],
    ['ec', { namedCurve: 'P-384' }, 'ecdsa-p384-sha384'],
    ['ec', { namedCurve: 'P-521' }, 'ecdsa-p521-sha512'],
    ['ed25519', {}, 'ed25519'],
    ['rsa', { modulusLength: 2048 }, 'rsa-pkcs1v15-sha256'],
    ['rsa-pss', { modulusLength: 2048 }, 'rsa-pss-sha256'],
  ])('reads %s %j as %s from the key itself', (type, options, expected) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync(type as 'ec', options as crypto.ECKeyPairKeyObjectOptions);
    expect(algorithmForKey(privateKey)).toBe(expected);
    expect(algorithmForKey(publicKey)).toBe(expected);
  });

  it('refuses RSA keys under 2048 bits', () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => algorithmForKey(privateKey)).toThrow(expect.objectContaining({ code: 'E_KEY', message: expect.stringContaining('2048') }));
  });

  it.each([
    ['ed448', {}],
    ['ec', { namedCurve: 'secp256k1' }],
    ['x25519', {}],
  ])('refuses %s %j with E_KEY', (type, options) => {
    const { privateKey } = crypto.generateKeyPairSync(type as 'ec', options as crypto.ECKeyPairKeyObjectOptions);
    expect(() => algorithmForKey(privateKey)).toThrow(SignetError);
  });
});

describe('algorithm table', () => {
  it('names the hash each algorithm signs with', () => {
    expect(algorithmInfo('ecdsa-p384-sha384')).toEqual({ family: 'ecdsa', hash: 'sha384', curve: 'P-384' });
    expect(algorithmInfo('rsa-pss-sha256').family).toBe('rsa-pss');
    expect(isSignatureAlgorithm('ed25519')).toBe(true);
    expect(isSignatureAlgorithm('dsa')).toBe(false);
  });
});
