import { checkPredicate, parseStatement, predicateTypeName, resolvePredicateType } from '../src';

describe('predicate types', () => {
  it('resolves cosign-style short names and URIs', () => {
    expect(resolvePredicateType('cyclonedx')).toBe('https://cyclonedx.org/bom');
    expect(resolvePredicateType('SPDX')).toBe('https://spdx.dev/Document');
    expect(resolvePredicateType('slsaprovenance')).toBe('https://slsa.dev/provenance/v1');
    expect(resolvePredicateType('slsaprovenance02')).toBe('https://slsa.dev/provenance/v0.2');
    expect(resolvePredicateType('openvex')).toBe('https://openvex.dev/ns');
    expect(resolvePredicateType('https://example.com/predicate/v1')).toBe('https://example.com/predicate/v1');
    expect(() => resolvePredicateType('sbom')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    expect(predicateTypeName('https://cyclonedx.org/bom')).toBe('cyclonedx');
    expect(predicateTypeName('https://example.com/x')).toBe('https://example.com/x');
  });

  it('checks that a predicate is what its type says', () => {
    expect(() => checkPredicate('https://cyclonedx.org/bom', { bomFormat: 'CycloneDX' })).not.toThrow();
    expect(() => checkPredicate('https://cyclonedx.org/bom', { spdxVersion: 'SPDX-2.3' })).toThrow(
      expect.objectContaining({ code: 'E_INPUT' }),
    );
    expect(() => checkPredicate('https://spdx.dev/Document', { bomFormat: 'CycloneDX' })).toThrow(/SPDX/);
    expect(() => checkPredicate('https://slsa.dev/provenance/v1', { builder: {} })).toThrow(/buildDefinition/);
    expect(() => checkPredicate('https://openvex.dev/ns', { '@context': 'https://openvex.dev/ns/v0.2.0' })).not.toThrow();
    expect(() => checkPredicate('https://example.com/any', [])).toThrow(/JSON object/);
  });
});

describe('parseStatement', () => {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('reads an in-toto Statement v1', () => {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'a', digest: { sha256: 'ab'.repeat(32), gitCommit: 'c0ffee' } }],
      predicateType: 'x',
      predicate: {},
    };
    expect(parseStatement(encode(statement))).toEqual(statement);
  });

  it.each([
    ['not JSON', Buffer.from('nope')],
    ['another _type', encode({ _type: 'x', subject: [{ digest: {} }], predicateType: 'p' })],
    ['no subjects', encode({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'p' })],
    ['a subject without digest', encode({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a' }], predicateType: 'p' })],
    ['no predicateType', encode({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: 'ab'.repeat(32) } }] })],
    [
      'a digest that is a number',
      encode({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: 5 } }], predicateType: 'p' }),
    ],
    [
      'a sha256 of the wrong length',
      encode({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: 'ab' } }], predicateType: 'p' }),
    ],
    [
      'a sha512 that is not hex',
      encode({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha512: 'z'.repeat(128) } }], predicateType: 'p' }),
    ],
    ['an empty digest', encode({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: {} }], predicateType: 'p' })],
    [
      'a name that is not a string',
      encode({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: ['a'], digest: { sha256: 'ab'.repeat(32) } }],
        predicateType: 'p',
      }),
    ],
    ['a subject that is not an object', encode({ _type: 'https://in-toto.io/Statement/v1', subject: ['a'], predicateType: 'p' })],
  ])('refuses %s with E_BUNDLE', (_what, payload) => {
    expect(() => parseStatement(payload)).toThrow(expect.objectContaining({ code: 'E_BUNDLE' }));
  });
});
