import { parseKeyRef, SignetError } from '@signet/core';
import { parsePkcs11Uri } from '../src/uri';

const parse = (raw: string) => parsePkcs11Uri(parseKeyRef(raw));

function inputError(raw: string): SignetError {
  try {
    parse(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(SignetError);
    expect((error as SignetError).code).toBe('E_INPUT');
    return error as SignetError;
  }
  throw new Error(`${raw} parsed`);
}

describe('RFC 7512 PKCS#11 URIs', () => {
  test('cosign form: token and object', () => {
    const uri = parse('pkcs11:token=release;object=signing-key');
    expect(uri.token).toBe('release');
    expect(uri.object?.toString()).toBe('signing-key');
    expect(uri.id).toBeUndefined();
    expect(uri.display).toBe('pkcs11:token=release;object=signing-key');
  });

  test('percent-encoded values: UTF-8 labels, raw id bytes, slot-id, p11tool token attributes', () => {
    const uri = parse(
      'pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=1566619b92027d66;token=My%20Token;object=cl%C3%A9;id=%01%ff%10;slot-id=302153062;type=private',
    );
    expect(uri.token).toBe('My Token');
    expect(uri.model).toBe('SoftHSM v2');
    expect(uri.manufacturer).toBe('SoftHSM project');
    expect(uri.serial).toBe('1566619b92027d66');
    expect(uri.object?.toString('utf8')).toBe('clé');
    expect(uri.id).toEqual(Buffer.from([0x01, 0xff, 0x10]));
    expect(uri.slotId).toBe(302153062n);
  });

  test('query: module-path, pin-source and pin-value; the PIN is left out of the printable form', () => {
    const uri = parse('pkcs11:token=t;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=Secret%2F42&pin-source=file:/run/pin');
    expect(uri.modulePath).toBe('/usr/lib/softhsm/libsofthsm2.so');
    expect(uri.pinSource).toBe('file:/run/pin');
    expect(uri.pinValue).toBe('Secret/42');
    expect(uri.display).toBe('pkcs11:token=t;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin');
    expect(parse('pkcs11:token=t;object=k?pin-value=Secret42').display).toBe('pkcs11:token=t;object=k');
  });

  test('an id alone names a key', () => {
    expect(parse('pkcs11:token=t;id=%42').id).toEqual(Buffer.from([0x42]));
  });

  test.each([
    ['pkcs11:token=t', /names no key/],
    ['pkcs11:token=t;object=a;object=b', /object appears twice/],
    ['pkcs11:token=t;object=k;colour=blue', /does not support the attribute "colour"/],
    ['pkcs11:token=t;object=k?module-name=softhsm2', /module-name.*module-path=/],
    ['pkcs11:token=t;object=k;type=cert', /type=cert names no key pair/],
    ['pkcs11:token=t;object=k;slot-id=0x1', /slot-id must be a decimal number/],
    ['pkcs11:token=t;object=%zz', /percent-escape/],
    ['pkcs11:token=t;objectk', /not name=value/],
  ])('%s is refused with E_INPUT', (raw, message) => {
    expect(inputError(raw).message).toMatch(message);
  });

  test('a malformed URI carrying a PIN does not echo it', () => {
    for (const raw of [
      'pkcs11:token=t;object=k;bad?pin-value=Hunter2Pin',
      'pkcs11:token=t;object=k?x=1?pin-value=Hunter2Pin',
      'pkcs11:token=t;object=k?pin-valueHunter2Pin',
    ]) {
      expect(inputError(raw).message).not.toContain('Hunter2Pin');
    }
  });
});
