import crypto from 'node:crypto';
import { publicKeyPem, type SignatureAlgorithm } from '@signet/core';
import { ASN1Obj } from '@sigstore/core';
import { findObjects, type Handle, keyTemplate, readAttribute, readULong, readULongs, type TokenSession } from './cryptoki';
import { Refusal } from './failures';
import { CKK_EC_EDWARDS, CURVES, type CurveName, ED25519_OID, ED25519_PARAMS_NAME } from './mechanisms';
import { describeObject, type Pkcs11Uri } from './uri';

/*
 * What Signet needs from a key on a token: its algorithm, read from the key's own
 * attributes (CKA_KEY_TYPE, the curve in CKA_EC_PARAMS, the modulus size, the paddings in
 * CKA_ALLOWED_MECHANISMS), and its public key as an SPKI PEM.
 */

export interface KeyFacts {
  algorithm: SignatureAlgorithm;
  publicKey: string;
}

export interface KeyObjects {
  /** Absent when the user is not logged in and the private key is a private object. */
  privateKey?: Handle;
  publicKey?: Handle;
}

/** The key objects the URI names: its private key (when visible) and its public key. */
export function findKeyPair(token: TokenSession, uri: Pkcs11Uri): KeyObjects {
  const { p11 } = token;
  const privates = findObjects(token, keyTemplate(token, uri, p11.CKO_PRIVATE_KEY));
  if (privates.length > 1) {
    throw new Refusal({
      kind: 'invalid',
      detail: `${privates.length} private keys have ${describeObject(uri)}; add id= to the URI to pick one`,
    });
  }
  const privateKey = privates[0];
  let publics = findObjects(token, keyTemplate(token, uri, p11.CKO_PUBLIC_KEY));
  // The halves of a pair share CKA_ID, though their labels need not agree.
  const id = privateKey && publics.length !== 1 ? readAttribute(token, privateKey, p11.CKA_ID) : undefined;
  if (id && id.length > 0) {
    const byId = findObjects(token, [
      { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY },
      { type: p11.CKA_ID, value: id },
    ]);
    if (byId.length === 1) publics = byId;
  }
  if (publics.length > 1) {
    throw new Refusal({
      kind: 'invalid',
      detail: `${publics.length} public keys have ${describeObject(uri)}; add id= to the URI to pick one`,
    });
  }
  const publicKey = publics[0];
  if (!privateKey && !publicKey) {
    const hint = token.loggedIn ? '' : ' (without the user PIN, private objects stay hidden)';
    throw new Refusal({ kind: 'not-found', detail: `the token holds no key with ${describeObject(uri)}${hint}` });
  }
  return { privateKey, publicKey };
}

/** The algorithm and public key of a key pair on the token. */
export function keyFacts(token: TokenSession, objects: KeyObjects): KeyFacts {
  const { p11 } = token;
  // Read each attribute from the public key first: it is readable without logging in.
  const attribute = (type: number, from: (Handle | undefined)[] = [objects.publicKey, objects.privateKey]) => {
    for (const object of from) {
      const value = object && readAttribute(token, object, type);
      if (value && value.length > 0) return value;
    }
    return undefined;
  };
  const keyType = attribute(p11.CKA_KEY_TYPE);
  if (!keyType) throw new Refusal({ kind: 'invalid', detail: 'the key has no CKA_KEY_TYPE' });
  switch (Number(readULong(keyType))) {
    case p11.CKK_EC: {
      const curve = curveOf(attribute(p11.CKA_EC_PARAMS));
      const { x, y } = ecPoint(attribute(p11.CKA_EC_POINT, [objects.publicKey]), curve);
      const key = crypto.createPublicKey({
        key: { kty: 'EC', crv: curve, x: x.toString('base64url'), y: y.toString('base64url') },
        format: 'jwk',
      });
      return { algorithm: CURVES[curve].algorithm, publicKey: publicKeyPem(key) };
    }
    case CKK_EC_EDWARDS: {
      requireEd25519(attribute(p11.CKA_EC_PARAMS));
      const point = unwrapOctetString(requirePoint(attribute(p11.CKA_EC_POINT, [objects.publicKey])));
      if (point.length !== 32) throw new Refusal({ kind: 'invalid', detail: `an Ed25519 public key of ${point.length} bytes` });
      const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') }, format: 'jwk' });
      return { algorithm: 'ed25519', publicKey: publicKeyPem(key) };
    }
    case p11.CKK_RSA: {
      const modulus = attribute(p11.CKA_MODULUS);
      const exponent = attribute(p11.CKA_PUBLIC_EXPONENT);
      if (!modulus || !exponent) throw new Refusal({ kind: 'invalid', detail: 'the RSA key has no readable modulus or exponent' });
      const key = crypto.createPublicKey({
        key: { kty: 'RSA', n: unsigned(modulus).toString('base64url'), e: unsigned(exponent).toString('base64url') },
        format: 'jwk',
      });
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048) throw new Refusal({ kind: 'invalid', detail: `an RSA key of ${bits} bits (the minimum is 2048)` });
      // The private key's restriction is the one the token enforces when signing.
      const allowed = readULongs(attribute(p11.CKA_ALLOWED_MECHANISMS, [objects.privateKey, objects.publicKey]) ?? Buffer.alloc(0));
      const pss = allowed.includes(p11.CKM_RSA_PKCS_PSS) && !allowed.includes(p11.CKM_RSA_PKCS);
      return { algorithm: pss ? 'rsa-pss-sha256' : 'rsa-pkcs1v15-sha256', publicKey: publicKeyPem(key) };
    }
    default:
      throw new Refusal({ kind: 'invalid', detail: `a key of type 0x${readULong(keyType).toString(16)}, which cannot sign for Signet` });
  }
}

function curveOf(params: Buffer | undefined): CurveName {
  const oid = params && oidOf(params);
  for (const [name, curve] of Object.entries(CURVES)) if (curve.oid === oid) return name as CurveName;
  throw new Refusal({
    kind: 'invalid',
    detail: `an EC key on ${oid ? `the curve ${oid}` : 'an unnamed curve'} (Signet signs with P-256, P-384 and P-521)`,
  });
}

function requireEd25519(params: Buffer | undefined): void {
  if (!params) return; // some tokens omit it for their only Edwards curve
  const oid = oidOf(params);
  const name = oid === undefined ? printableString(params) : undefined;
  if (oid === ED25519_OID || name === ED25519_PARAMS_NAME) return;
  throw new Refusal({
    kind: 'invalid',
    detail: `an Edwards-curve key on ${oid ?? name ?? 'an unknown curve'} (Signet signs with Ed25519 only)`,
  });
}

function oidOf(der: Buffer): string | undefined {
  try {
    const obj = parseDer(der);
    return obj.tag.isOID() ? obj.toOID() : undefined;
  } catch {
    return undefined;
  }
}

function printableString(der: Buffer): string | undefined {
  try {
    const obj = parseDer(der);
    return obj.tag.number === 0x13 ? obj.value.toString('latin1') : undefined;
  } catch {
    return undefined;
  }
}

function requirePoint(point: Buffer | undefined): Buffer {
  if (point) return point;
  // An EC private key carries no point: without the public key object there is nothing to export.
  throw new Refusal({ kind: 'not-found', detail: 'the token holds no public key object beside the private key' });
}

/** CKA_EC_POINT is the DER OCTET STRING of the point (PKCS#11 §2.3.3); a few tokens give it bare. */
function unwrapOctetString(value: Buffer): Buffer {
  try {
    const obj = parseDer(value);
    if (obj.tag.isOctetString() && obj.toDER().length === value.length) return obj.value;
  } catch {
    // not DER: the bare point
  }
  return value;
}

/** The affine coordinates of an EC point, compressed or not. */
function ecPoint(value: Buffer | undefined, curve: CurveName): { x: Buffer; y: Buffer } {
  const point = unwrapOctetString(requirePoint(value));
  let uncompressed: Buffer;
  try {
    uncompressed = crypto.ECDH.convertKey(point, CURVES[curve].nodeName, undefined, undefined, 'uncompressed') as Buffer;
  } catch {
    throw new Refusal({ kind: 'invalid', detail: `CKA_EC_POINT is not a point on ${curve}` });
  }
  const size = (uncompressed.length - 1) / 2;
  return { x: uncompressed.subarray(1, 1 + size), y: uncompressed.subarray(1 + size) };
}

/** @sigstore/core's DER parser, over a copy it may keep. */
function parseDer(bytes: Buffer): ASN1Obj {
  return ASN1Obj.parseBuffer(Buffer.from(bytes));
}

/** A big-endian integer without leading zero bytes, as JWK wants it. */
function unsigned(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}
