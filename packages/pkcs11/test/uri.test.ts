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

  test('query: module-path, pin-source and pin-value; the PIN is redacted from the printable form, and the key id leaves the query out', () => {
    const uri = parse('pkcs11:token=t;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=Secret%2F42&pin-source=file:/run/pin');
    expect(uri.modulePath).toBe('/usr/lib/softhsm/libsofthsm2.so');
    expect(uri.pinSource).toBe('file:/run/pin');
    expect(uri.pinValue).toBe('Secret/42');
    expect(uri.display).toBe(
      'pkcs11:token=t;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=[redacted]&pin-source=[redacted]',
    );
    expect(uri.keyName).toBe('pkcs11:token=t;object=k');
    expect(parse('pkcs11:token=t;object=k?pin-value=Secret42').display).toBe('pkcs11:token=t;object=k?pin-value=[redacted]');
  });

  test('attribute names are read in any case and percent-encoded, as the display reads them', () => {
    for (const spelling of ['PIN-VALUE', 'Pin-Value', 'pin%2Dvalue', '%70in-value']) {
      const uri = parse(`pkcs11:token=t;object=k?${spelling}=Secret42`);
      expect(uri.pinValue).toBe('Secret42');
      expect(uri.display).toBe('pkcs11:token=t;object=k?pin-value=[redacted]');
    }
    expect(parse('pkcs11:TOKEN=t;%6Fbject=k').token).toBe('t');
  });

  test('an id alone names a key', () => {
    expect(parse('pkcs11:token=t;id=%42').id).toEqual(Buffer.from([0x42]));
  });

  test.each([
    ['pkcs11:token=t', /names no key/],
    ['pkcs11:token=t;object=a;object=b', /"object" appears twice/],
    // a name RFC 7512 does not define is not quoted: it may be a PIN typed in a name's place
    ['pkcs11:token=t;object=k;colour=blue', /does not support an attribute RFC 7512 does not define in the path/],
    ['pkcs11:token=t;object=k;library-version=1', /does not support "library-version" in the path/],
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
      // in the path, where users write it too, in any spelling
      'pkcs11:token=t;object=k;pin-value=Hunter2Pin',
      'pkcs11:token=t;object=k;PIN-VALUE=Hunter2Pin',
      'pkcs11:token=t;object=k;pin%2Dvalue=Hunter2Pin',
      'pkcs11:token=t;object=k;pin-source=Hunter2Pin',
      'pkcs11:pin-value=Hunter2Pin',
      // the PIN typed where an attribute's name goes
      'pkcs11:token=t;object=k;Hunter2Pin=1',
      'pkcs11:token=t;object=k?Hunter2Pin=1',
      'pkcs11:token=t;object=k;x=1;x=Hunter2Pin',
    ]) {
      expect(inputError(raw).message).not.toContain('Hunter2Pin');
    }
  });

  test('a PIN in the path is refused, saying where it belongs', () => {
    expect(inputError('pkcs11:token=t;object=k;pin-value=1234').message).toBe(
      'pkcs11:token=t;object=k;pin-value=[redacted] is not a usable PKCS#11 URI: pin-value belongs in the query, after "?" (better still, keep the PIN off the command line: pin-source=FILE or SIGNET_PKCS11_PIN); write it as pkcs11:token=TOKEN;object=LABEL',
    );
  });
});
