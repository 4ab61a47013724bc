// Who signed a log entry: the fast reading of a Rekor v2 hashedrekord (no JSON parse, the way a
// scan reads nearly every entry) against the JSON reading, on entries as rekor-tiles writes them
// and on bodies that only look like them.
import crypto from 'node:crypto';
import { canonicalJson, hashedRekordV2Body } from '@signet/emulators/sigstore';
import { EntryError, entryVerifiers, hashedRekordV2Verifier } from '../src/entries';
import { compileWatch } from '../src/matchers';

const key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
const certificate = crypto.randomBytes(700);
const digest = crypto.createHash('sha256').update('artifact').digest();
const signature = crypto.randomBytes(71);

/** The verifier as JSON.parse reads it. */
function parsed(body: Buffer) {
  const verifier = JSON.parse(body.toString('utf8')).spec.hashedRekordV002.signature.verifier;
  return verifier.x509Certificate
    ? { kind: 'certificate', der: Buffer.from(verifier.x509Certificate.rawBytes, 'base64') }
    : { kind: 'publicKey', der: Buffer.from(verifier.publicKey.rawBytes, 'base64') };
}

test.each([
  ['a public key', { publicKey: key }],
  ['a certificate', { x509Certificate: certificate }],
])('an entry signed with %s: the fast reading is the JSON reading', (_, verifier) => {
  const body = hashedRekordV2Body(verifier, digest, signature);
  expect(hashedRekordV2Verifier(body)).toEqual(parsed(body));
  expect(entryVerifiers(body)).toEqual([parsed(body)]);
});

test('bodies of another shape are left to the JSON reading, which reads them the same or refuses them', () => {
  const entry = JSON.parse(hashedRekordV2Body({ publicKey: key }, digest, signature).toString('utf8'));
  const spaced = Buffer.from(JSON.stringify(entry, null, 1));
  const escaped = Buffer.from(canonicalJson(entry).replace('"content":"', '"content":"\\u0041'));
  const otherName = Buffer.from(canonicalJson(entry).replace('"publicKey":{', '"publicKeyX":{'));
  const noSignature = Buffer.from(
    canonicalJson({ ...entry, spec: { hashedRekordV002: { data: entry.spec.hashedRekordV002.data } } }).replace(
      '"data":{',
      `"data":{"verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"${key.toString('base64')}"}},`,
    ),
  );
  for (const body of [spaced, escaped, otherName]) expect(hashedRekordV2Verifier(body)).toBeUndefined();
  expect(entryVerifiers(spaced)).toEqual([parsed(spaced)]);
  expect(entryVerifiers(escaped)).toEqual([{ kind: 'publicKey', der: key }]);
  expect(() => entryVerifiers(otherName)).toThrow(EntryError);
  // A verifier anywhere but the signature's, last: not the fast reading's to take.
  expect(hashedRekordV2Verifier(noSignature)).toBeUndefined();
  expect(() => entryVerifiers(noSignature)).toThrow(EntryError);
});

test('a signer seen again: the same verifier, only for the same base64 of the same kind', () => {
  const entryOf = (verifier: { publicKey: Buffer } | { x509Certificate: Buffer }) =>
    hashedRekordV2Body(verifier, digest, crypto.randomBytes(71));
  const first = hashedRekordV2Verifier(entryOf({ x509Certificate: certificate }));
  expect(hashedRekordV2Verifier(entryOf({ x509Certificate: certificate }))).toBe(first);
  // Ending alike, different before: its own DER.
  const near = Buffer.from(certificate);
  near[10] = (near[10] as number) ^ 1;
  expect(hashedRekordV2Verifier(entryOf({ x509Certificate: near }))).toEqual({ kind: 'certificate', der: near });
  // The same bytes as a key: a key.
  expect(hashedRekordV2Verifier(entryOf({ publicKey: certificate }))).toEqual({ kind: 'publicKey', der: certificate });
  expect(hashedRekordV2Verifier(entryOf({ x509Certificate: certificate }))).toEqual({ kind: 'certificate', der: certificate });
});

test('a watch matches a signer every time it signs, and one it does not watch never', () => {
  const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const watch = compileWatch({
    certIdentities: [],
    identities: [],
    oidMatchers: [],
    fingerprints: [crypto.createHash('sha256').update(key).digest('hex')],
  });
  for (let i = 0; i < 3; i++) {
    for (const signer of [other, key]) {
      const verifiers = entryVerifiers(hashedRekordV2Body({ publicKey: signer }, digest, crypto.randomBytes(71)));
      expect(watch.match(verifiers)?.matched.map((m) => m.matcher)).toEqual(signer === key ? ['fingerprints'] : undefined);
    }
  }
});
