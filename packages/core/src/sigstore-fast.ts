import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  type ASN1Obj,
  EXTENSION_OID_SCT,
  type RFC3161Timestamp,
  crypto as sigstoreCrypto,
  type X509Certificate,
  X509SCTExtension,
} from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { SignedEntity, Signer, TrustMaterial } from '@sigstore/verify';
// @sigstore/verify's own steps, reached inside it (it exports only the whole Verifier): the fast
// path must take the same decisions, so it reuses every step that is not where the time goes.
// These paths are not its public API: package.json pins @sigstore/verify exactly, and a new
// version comes in only with these tests passing.
import { CertificateChainVerifier } from '@sigstore/verify/dist/key/certificate';
import { verifyTLogBody, verifyTLogInclusion } from '@sigstore/verify/dist/tlog';
import { filterCertAuthorities, filterTLogAuthorities } from '@sigstore/verify/dist/trust/filter';
import type { CertAuthority } from '@sigstore/verify/dist/trust/trust.types';

/*
 * The fast path of @sigstore/verify's Verifier (3.x), for certificate (keyless) bundles.
 *
 * It walks the same checks in the same order as Verifier.verify (timestamps, certificate chain
 * and SCTs, log entries, signature) and only ever ACCEPTS: at the first check that fails, or any
 * shape it does not handle, it answers undefined and the caller runs @sigstore/verify itself,
 * whose error is the one reported. So a refusal is always @sigstore/verify's own, and an
 * acceptance here is one @sigstore/verify makes too (test/sigstore-fast.test.ts checks both
 * paths agree on accepted and mutated bundles).
 *
 * Where the time goes in @sigstore/verify is re-encoding what it parsed (ASN1Obj.toDER, which
 * allocates a zero-filled KiB per node) and parsing the same public keys on every call. Here:
 * - the bytes a node was parsed from are used instead of its re-encoding, but only when the
 *   whole parsed tree is exactly what toDER would write (every length in its shortest form,
 *   children tiling their parent): then the two are the same bytes, and the decision is too;
 * - what depends on the trusted root only (its certificates' encodings and keys, the paths
 *   between a CA's own certificates, a TSA's chain) is computed once per trusted root, in a
 *   cache keyed by the root's content, never by a certificate a bundle brings;
 * - the leaf's key is built from its curve point (JWK), which OpenSSL 3 imports about twice as
 *   fast as DER SubjectPublicKeyInfo; any other key is imported from its DER as before.
 * Nothing a bundle carries is cached: each bundle's certificate, SCT, log entries and timestamps
 * are checked afresh, and validity windows are checked at each verification's own times.
 */

type Thresholds = { tlogThreshold: number; timestampThreshold: number; ctlogThreshold: number };

/** What one trusted root compiles to: @sigstore/verify's trust material, and what the fast path precomputes from it. */
export interface CompiledTrust {
  material: TrustMaterial;
  cas: Map<CertAuthority, CompiledAuthority>;
  tsas: Map<CertAuthority, TimestampAuthority>;
}

interface CompiledCert {
  cert: X509Certificate;
  /** The certificate as @sigstore/core encodes it (what its equals() compares). */
  der: Buffer;
  /** Its SubjectPublicKeyInfo as @sigstore/core encodes it, and the key (undefined when Node cannot read it). */
  spki: Buffer;
  key?: KeyObject;
  subject: Buffer;
  issuer: Buffer;
  skid?: Buffer;
  akid?: Buffer;
}

interface CompiledAuthority {
  /** Its certificates, each once (as CertificateChainVerifier dedupes them); none when one cannot be read the way it reads them. */
  certs: CompiledCert[];
  /** buildPaths(cert) among the CA's own certificates, by certificate: computed on first need. */
  paths: Map<X509Certificate, X509Certificate[][] | 'fails'>;
}

interface TimestampAuthority {
  /** The signing certificate's key, and its chain to the authority's other certificates (checked for validity at each use). */
  key?: KeyObject;
  path: X509Certificate[] | 'fails';
}

const CACHE_LIMIT = 8;
const compiled = new Map<string, CompiledTrust>();

/**
 * The trust material of a trusted root, from a cache keyed by the SHA-256 of the root's whole
 * content (protobuf JSON): an equal root hits, any other root (a CA, log key, TSA or validity
 * window changed) misses. `build` makes @sigstore/verify's trust material.
 */
export function compiledTrust(
  root: TrustedRoot,
  build: (root: TrustedRoot) => TrustMaterial,
  toJSON: (root: TrustedRoot) => unknown,
): CompiledTrust {
  const key = createHash('sha256')
    .update(JSON.stringify(toJSON(root)))
    .digest('hex');
  const hit = compiled.get(key);
  if (hit) {
    compiled.delete(key);
    compiled.set(key, hit);
    return hit;
  }
  const material = build(root);
  const trust: CompiledTrust = { material, cas: new Map(), tsas: new Map() };
  for (const ca of material.certificateAuthorities) trust.cas.set(ca, compileAuthority(ca));
  for (const tsa of material.timestampAuthorities) trust.tsas.set(tsa, compileTimestampAuthority(tsa));
  compiled.set(key, trust);
  if (compiled.size > CACHE_LIMIT) compiled.delete(compiled.keys().next().value as string);
  return trust;
}

/** Forgets every compiled root (for tests). */
export function clearCompiledTrust(): void {
  compiled.clear();
}

function compileAuthority(ca: CertAuthority): CompiledAuthority {
  const certs: CompiledCert[] = [];
  try {
    for (const cert of ca.certChain) {
      const compiledCert = compileCert(cert);
      if (!certs.some((c) => c.der.equals(compiledCert.der))) certs.push(compiledCert);
    }
  } catch {
    return { certs: [], paths: new Map() };
  }
  return { certs, paths: new Map() };
}

/** A CA certificate's fields as findIssuer reads them; throws where reading one throws there. */
function compileCert(cert: X509Certificate): CompiledCert {
  const spki = cert.publicKey;
  let key: KeyObject | undefined;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    key = undefined;
  }
  return {
    cert,
    der: cert.root.toDER(),
    spki,
    key,
    subject: cert.subject,
    issuer: cert.issuer,
    skid: cert.extSubjectKeyID?.keyIdentifier,
    akid: cert.extAuthorityKeyID?.keyIdentifier,
  };
}

function compileTimestampAuthority(tsa: CertAuthority): TimestampAuthority {
  const [leaf, ...cas] = tsa.certChain;
  if (!leaf) return { path: 'fails' };
  let key: KeyObject | undefined;
  try {
    key = sigstoreCrypto.createPublicKey(leaf.publicKey);
  } catch {
    key = undefined;
  }
  // The chain does not depend on the time (only each certificate's validity does, checked at each use).
  try {
    const chain = new CertificateChainVerifier({
      untrustedCert: leaf,
      trustedCerts: cas,
      timestamp: new Date(0),
    }) as unknown as ChainInternals;
    const path = chain.sort();
    chain.checkPath(path);
    return { key, path };
  } catch {
    return { key, path: 'fails' };
  }
}

/** @sigstore/verify's CertificateChainVerifier's own steps, used unchanged for the trusted root's certificates. */
interface ChainInternals {
  sort(): X509Certificate[];
  buildPaths(cert: X509Certificate): X509Certificate[][];
  checkPath(path: X509Certificate[]): void;
}

/** The trust material with nothing precompiled (a root with no certificate authorities or TSAs needs none). */
export function plainTrust(material: TrustMaterial): CompiledTrust {
  return { material, cas: new Map(), tsas: new Map() };
}

/** DER lengths of the bundle's parsed structures: the leaf certificate, and each RFC 3161 timestamp in order. */
export interface InputLengths {
  leaf: number;
  timestamps: number[];
}

/**
 * Verifier.verify(entity) of @sigstore/verify for a certificate bundle, or undefined when the fast
 * path cannot accept it (then @sigstore/verify decides).
 */
export function fastVerify(trust: CompiledTrust, entity: SignedEntity, thresholds: Thresholds, lengths: InputLengths): Signer | undefined {
  try {
    return verifyEntity(trust, entity, thresholds, lengths);
  } catch {
    return undefined;
  }
}

class NotFast extends Error {}
const notFast = (): never => {
  throw new NotFast();
};

function verifyEntity(trust: CompiledTrust, entity: SignedEntity, thresholds: Thresholds, lengths: InputLengths): Signer {
  if (entity.key.$case !== 'certificate') return notFast();
  const leaf = entity.key.certificate;
  if (!canonical(leaf.root, lengths.leaf)) return notFast();

  // 1. Timestamps, as Verifier.verifyTimestamps.
  const found: { type: string; logID: Buffer; timestamp: Date }[] = [];
  let tsaIndex = 0;
  for (const timestamp of entity.timestamps) {
    if (timestamp.$case === 'timestamp-authority') {
      const length = lengths.timestamps[tsaIndex++];
      if (length === undefined || !canonical(timestamp.timestamp.root, length)) return notFast();
      if (!timestampVerifies(trust, timestamp.timestamp, entity.signature.signature)) return notFast();
      found.push({
        type: 'timestamp-authority',
        logID: timestamp.timestamp.signerSerialNumber,
        timestamp: timestamp.timestamp.signingTime,
      });
    } else if (timestamp.tlogEntry.inclusionPromise) {
      const entry = timestamp.tlogEntry;
      found.push({ type: 'transparency-log', logID: entry.logId.keyId, timestamp: new Date(Number(entry.integratedTime) * 1000) });
    }
  }
  if (containsDupes(found) || found.length < thresholds.timestampThreshold) return notFast();
  const times = found.map((t) => t.timestamp);

  // 2. The certificate: a chain to a trusted CA at every time, then its SCTs, as verifyCertificate.
  if (times.length === 0) return notFast();
  let path: X509Certificate[] = [];
  const issuerVerified = new Map<CompiledCert, boolean>();
  for (const time of times) path = certificatePath(trust, leaf, time, issuerVerified);
  const [signerCert, issuerCert] = path;
  if (!signerCert || !issuerCert) return notFast();
  const scts = verifiedScts(signerCert, issuerCert, trust);
  if (containsDupes(scts) || scts.length < thresholds.ctlogThreshold) return notFast();
  const signer = signerOf(signerCert);

  // 3. Log entries, with @sigstore/verify's own checks (their keys are already parsed in the trust material).
  for (const entry of entity.tlogEntries) {
    verifyTLogInclusion(entry, trust.material.tlogs);
    verifyTLogBody(entry, entity.signature);
  }
  if (entity.tlogEntries.length < thresholds.tlogThreshold) return notFast();

  // 4. The signature.
  if (!entity.signature.verifySignature(signer.key)) return notFast();
  return signer;
}

/**
 * verifyCertificateChain(time, leaf, CAs): the first CA valid at `time` must give the path
 * @sigstore/verify's CertificateChainVerifier would; a CA that fails here is left to it.
 */
function certificatePath(
  trust: CompiledTrust,
  leaf: X509Certificate,
  time: Date,
  issuerVerified: Map<CompiledCert, boolean>,
): X509Certificate[] {
  const [ca] = filterCertAuthorities(trust.material.certificateAuthorities, time);
  const compiledCa = ca && trust.cas.get(ca);
  if (!ca || !compiledCa || compiledCa.certs.length === 0) return notFast();
  const leafDer = bytesOf(leaf.root);
  const leafSkid = leaf.extSubjectKeyID?.keyIdentifier;
  const leafSubject = leaf.subject;
  for (const trusted of compiledCa.certs) {
    // The leaf is one of the CA's own certificates, or could issue one of them: left to @sigstore/verify.
    if (trusted.der.equals(leafDer)) return notFast();
    if (couldIssue({ skid: leafSkid, subject: leafSubject }, trusted)) return notFast();
  }
  // A self-signed leaf, or one that could be its own issuer: left to @sigstore/verify.
  if (leafSubject.equals(leaf.issuer)) return notFast();
  const leafAkid = leaf.extAuthorityKeyID?.keyIdentifier;
  if (couldIssue({ skid: leafSkid, subject: leafSubject }, { akid: leafAkid, issuer: leaf.issuer })) return notFast();

  // findIssuer(leaf): candidates by key identifier (or name), those whose key verifies the leaf.
  const tbs = bytesOf(leaf.tbsCertificate);
  const issuers = compiledCa.certs.filter((candidate) => {
    if (!couldIssue(candidate, { akid: leafAkid, issuer: leaf.issuer })) return false;
    let verified = issuerVerified.get(candidate);
    if (verified === undefined) {
      verified = candidate.key !== undefined && sigstoreCrypto.verify(tbs, candidate.key, leaf.signatureValue, leaf.signatureAlgorithm);
      issuerVerified.set(candidate, verified);
    }
    return verified;
  });
  if (issuers.length === 0) return notFast();
  // buildPaths(leaf): each issuer followed by each of its own paths (the CA's, computed once).
  const paths: X509Certificate[][] = [];
  for (const issuer of issuers) {
    for (const sub of trustedPaths(ca, compiledCa, issuer.cert)) paths.push([issuer.cert, ...sub]);
  }
  if (paths.length === 0) return notFast();
  // sort(): the shortest path (the last of equal ones, as reduce keeps it), without the root's second copy.
  const shortest = paths.reduce((prev, curr) => (prev.length < curr.length ? prev : curr));
  const path = [leaf, ...shortest].slice(0, -1);
  (CertificateChainVerifier.prototype as unknown as ChainInternals).checkPath.call(undefined, path);
  if (!path.every((cert) => validForDate(cert, time))) return notFast();
  return path;
}

/** Certificates' validity dates, read once per certificate: the CA's recur in every bundle. */
const validity = new WeakMap<X509Certificate, { notBefore: Date; notAfter: Date }>();

/** X509Certificate.validForDate (the same comparison), without parsing the dates again. */
function validForDate(cert: X509Certificate, date: Date): boolean {
  let dates = validity.get(cert);
  if (!dates) {
    dates = { notBefore: cert.notBefore, notAfter: cert.notAfter };
    validity.set(cert, dates);
  }
  return dates.notBefore <= date && date <= dates.notAfter;
}

/** Whether `candidate` is one findIssuer would consider for a certificate with this AKID and issuer name. */
function couldIssue(candidate: { skid?: Buffer; subject: Buffer }, cert: { akid?: Buffer; issuer: Buffer }): boolean {
  if (cert.akid && candidate.skid) return candidate.skid.equals(cert.akid);
  return candidate.subject.equals(cert.issuer);
}

/** buildPaths(cert) for one of a CA's own certificates, by @sigstore/verify's own code, once per trusted root. */
function trustedPaths(ca: CertAuthority, compiledCa: CompiledAuthority, cert: X509Certificate): X509Certificate[][] {
  let paths = compiledCa.paths.get(cert);
  if (paths === undefined) {
    try {
      const chain = new CertificateChainVerifier({
        untrustedCert: cert,
        trustedCerts: ca.certChain,
        timestamp: new Date(0),
      }) as unknown as ChainInternals;
      paths = chain.buildPaths(cert);
    } catch {
      paths = 'fails';
    }
    compiledCa.paths.set(cert, paths);
  }
  return paths === 'fails' ? notFast() : paths;
}

/** verifySCTs(cert, issuer, ctlogs): each SCT over the pre-certificate (the TBS without its SCT extension). */
function verifiedScts(cert: X509Certificate, issuer: X509Certificate, trust: CompiledTrust): Buffer[] {
  const extensions = cert.extensions;
  const index = extensions.findIndex((ext) => ext.subs[0]?.toOID() === EXTENSION_OID_SCT);
  if (index < 0) return [];
  const sctExtension = new X509SCTExtension(extensions[index] as ASN1Obj);
  const scts = sctExtension.signedCertificateTimestamps;
  if (scts.length === 0) return [];
  const issuerCompiled = [...trust.cas.values()].flatMap((ca) => ca.certs).find((c) => c.cert === issuer);
  const issuerSpki = issuerCompiled ? issuerCompiled.spki : notFast();
  const tbs = precertTbs(cert, index);
  const preCert = Buffer.concat([sigstoreCrypto.digest('sha256', issuerSpki), uint24(tbs.length), tbs]);
  return scts.map((sct) => {
    const logs = filterTLogAuthorities(trust.material.ctlogs, { logID: sct.logID, targetDate: sct.datetime });
    if (!logs.some((log) => sct.verify(preCert, log.publicKey))) notFast();
    return sct.logID;
  });
}

/**
 * The TBS certificate with the extension at `index` removed, as @sigstore/verify makes it (a
 * clone with the extension spliced out, re-encoded): the three enclosing nodes are encoded by
 * @sigstore/core's ASN1Obj, every untouched node is its own parsed bytes (which, in a
 * canonical tree, are its encoding).
 */
function precertTbs(cert: X509Certificate, index: number): Buffer {
  const tbs = cert.tbsCertificate;
  const extensionsObj = tbs.subs.find((sub) => sub.tag.isContextSpecific(0x03)) ?? notFast();
  const sequence = extensionsObj.subs[0] ?? notFast();
  const Obj = tbs.constructor as new (tag: ASN1Obj['tag'], value: Buffer, subs: unknown[]) => ASN1Obj;
  const remaining = sequence.subs.filter((_, i) => i !== index).map(encoded);
  const newSequence = new Obj(sequence.tag, sequence.value, remaining);
  const newExtensions = new Obj(
    extensionsObj.tag,
    extensionsObj.value,
    extensionsObj.subs.map((sub) => (sub === sequence ? newSequence : encoded(sub))),
  );
  return new Obj(
    tbs.tag,
    tbs.value,
    tbs.subs.map((sub) => (sub === extensionsObj ? newExtensions : encoded(sub))),
  ).toDER();
}

function encoded(node: ASN1Obj): { toDER(): Buffer } {
  return { toDER: () => bytesOf(node) };
}

function uint24(value: number): Buffer {
  const out = Buffer.alloc(3);
  out.writeUIntBE(value, 0, 3);
  return out;
}

const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

/** getSigner(cert), as @sigstore/verify reads it: the key, the SAN and the OIDC issuer (Signet reads the other extensions itself). */
function signerOf(cert: X509Certificate): Signer {
  let issuer: string | undefined;
  const v2 = cert.extension(OID_FULCIO_ISSUER_V2);
  if (v2) issuer = v2.valueObj.subs?.[0]?.value.toString('ascii');
  else issuer = cert.extension(OID_FULCIO_ISSUER_V1)?.value.toString('ascii');
  const oids = cert.extensions.map((ext) => ({
    oid: { id: (ext.subs[0] as ASN1Obj).toOID().split('.').map(Number) },
    value: (ext.subs[ext.subs.length - 1] as ASN1Obj).value,
  }));
  return { key: publicKeyOf(cert), identity: { extensions: { issuer }, subjectAlternativeName: cert.subjectAltName, oids } } as Signer;
}

/**
 * The DER of an EC public key on each named curve, up to its uncompressed point: the whole
 * SubjectPublicKeyInfo is this prefix and 04 ‖ X ‖ Y, byte for byte, or it is not imported here.
 */
const EC_SPKI_PREFIXES: { prefix: Buffer; crv: string; size: number }[] = [
  { prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), crv: 'P-256', size: 32 },
  { prefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'), crv: 'P-384', size: 48 },
  { prefix: Buffer.from('30819b301006072a8648ce3d020106052b8104002303818600', 'hex'), crv: 'P-521', size: 66 },
];

/**
 * The certificate's key, as createPublicKey(SPKI DER) makes it. An EC key whose whole
 * SubjectPublicKeyInfo is exactly the canonical encoding for its curve and an uncompressed
 * point is imported from its coordinates (the same key, checked on the curve by OpenSSL either
 * way); anything else from the DER, so that what OpenSSL refuses there (a SET for a SEQUENCE, an
 * OID padded with 0x80) is refused here too.
 */
function publicKeyOf(cert: X509Certificate): KeyObject {
  const spki = bytesOf(cert.tbsCertificate.subs[6] ?? notFast());
  for (const { prefix, crv, size } of EC_SPKI_PREFIXES) {
    if (spki.length !== prefix.length + 1 + 2 * size || !spki.subarray(0, prefix.length).equals(prefix) || spki[prefix.length] !== 0x04)
      continue;
    const x = spki.subarray(prefix.length + 1, prefix.length + 1 + size);
    const y = spki.subarray(prefix.length + 1 + size);
    // Only coordinates plainly below the field prime (P-256's and P-384's start 0xff…, P-521's is 2^521 - 1):
    // a JWK import might reduce a larger one where the DER import refuses it.
    if (!belowPrime(x, size) || !belowPrime(y, size)) break;
    return createPublicKey({ key: { kty: 'EC', crv, x: x.toString('base64url'), y: y.toString('base64url') }, format: 'jwk' });
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

function belowPrime(coordinate: Buffer, size: number): boolean {
  return size === 66 ? coordinate[0] === 0 : coordinate[0] !== 0xff;
}

/** verifyRFC3161Timestamp(timestamp, data, TSAs): some TSA valid then, of the signer's serial and issuer, verifies it. */
function timestampVerifies(trust: CompiledTrust, timestamp: RFC3161Timestamp, data: Buffer): boolean {
  const signingTime = timestamp.signingTime;
  const authorities = filterCertAuthorities(trust.material.timestampAuthorities, signingTime).filter(
    (ca) =>
      ca.certChain.length > 0 &&
      sigstoreCrypto.bufferEqual((ca.certChain[0] as X509Certificate).serialNumber, timestamp.signerSerialNumber) &&
      sigstoreCrypto.bufferEqual((ca.certChain[0] as X509Certificate).issuer, timestamp.signerIssuer),
  );
  return authorities.some((ca) => {
    const compiledTsa = trust.tsas.get(ca);
    if (!compiledTsa?.key || compiledTsa.path === 'fails') return false;
    if (!compiledTsa.path.every((cert) => validForDate(cert, signingTime))) return false;
    try {
      return timestampSignedBy(timestamp, data, compiledTsa.key);
    } catch {
      return false;
    }
  });
}

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TSTINFO = '1.2.840.113549.1.9.16.1.4';

/** RFC3161Timestamp.verify(data, key), over the parsed bytes of TSTInfo and the signed attributes. */
function timestampSignedBy(timestamp: RFC3161Timestamp, data: Buffer, key: KeyObject): boolean {
  const internals = timestamp as unknown as { timeStampTokenObj?: ASN1Obj; signedAttrsObj: ASN1Obj; messageDigestAttributeObj: ASN1Obj };
  if (!internals.timeStampTokenObj) return false;
  if (timestamp.contentType !== OID_SIGNED_DATA || timestamp.eContentType !== OID_TSTINFO) return false;
  const tstInfo = timestamp.tstInfo;
  tstInfo.verify(data);
  const digest = sigstoreCrypto.digest(timestamp.signerDigestAlgorithm, bytesOf((tstInfo as unknown as { root: ASN1Obj }).root));
  const expected = internals.messageDigestAttributeObj.subs[1]?.subs[0]?.value ?? notFast();
  if (!sigstoreCrypto.bufferEqual(digest, expected)) return false;
  const signedAttrs = Buffer.from(bytesOf(internals.signedAttrsObj));
  signedAttrs[0] = 0x31; // the context-specific tag becomes SET, as RFC 5652 signs it
  return sigstoreCrypto.verify(signedAttrs, key, timestamp.signatureValue, timestamp.signatureAlgorithm);
}

function containsDupes(items: unknown[]): boolean {
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) if (isDeepStrictEqual(items[i], items[j])) return true;
  return false;
}

/** Bytes in a DER length field: the shortest form, as ASN1Obj.toDER writes it. */
function lengthOctets(length: number): number {
  if (length < 0x80) return 1;
  let octets = 1;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets++;
  return octets;
}

const headerLength = (node: ASN1Obj) => 1 + lengthOctets(node.value.length);

/**
 * Whether a tree @sigstore/core parsed from `inputLength` bytes is exactly what ASN1Obj.toDER
 * writes back: the root spans the whole input and every node's header is one tag byte and a
 * length in its shortest form (the parser records how many bytes each header took: the
 * distance from where the node starts to its value), its children tiling its value. Only the
 * parse tree's offsets are read; nothing is decoded again.
 */
export function canonical(root: ASN1Obj, inputLength: number): boolean {
  if (headerLength(root) + root.value.length !== inputLength) return false;
  return childrenTile(root);
}

function childrenTile(node: ASN1Obj): boolean {
  if (node.subs.length === 0) return true;
  let position = node.value.byteOffset;
  for (const sub of node.subs) {
    if (sub.value.buffer !== node.value.buffer || sub.value.byteOffset - headerLength(sub) !== position) return false;
    if (!childrenTile(sub)) return false;
    position = sub.value.byteOffset + sub.value.length;
  }
  return position === node.value.byteOffset + node.value.length;
}

/** A node's own bytes (header and value) in a canonical tree: equal to its toDER(). Shared, not copied. */
function bytesOf(node: ASN1Obj): Buffer {
  const header = headerLength(node);
  return Buffer.from(node.value.buffer, node.value.byteOffset - header, header + node.value.length);
}
