import crypto from 'node:crypto';

/*
 * What Rekor v1 stores for a proposed entry. A client proposes an entry in one form and Rekor
 * keeps another, which is what the inclusion proof and the verifier's body check cover:
 * a `dsse` proposal carries the whole envelope and its verifiers, but the stored entry holds
 * only the envelope's hash, the payload's hash and each signature with the key that verified
 * it. Storing the proposal as-is (as @sigstore/mock does) makes every DSSE bundle fail
 * verification. `intoto` entries are stored without the payload; `hashedrekord` ones as they are.
 */

export class EntryError extends Error {}

interface HashedRekordProposal {
  spec?: { data?: { hash?: { algorithm?: string; value?: string } }; signature?: { content?: string; publicKey?: { content?: string } } };
}

interface DsseProposal {
  spec?: { proposedContent?: { envelope?: string; verifiers?: string[] } };
}

interface IntotoProposal {
  spec?: { content?: { envelope?: { payload?: string }; hash?: unknown; payloadHash?: unknown } };
}

interface Envelope {
  payload: string;
  payloadType: string;
  signatures: { sig: string; keyid?: string }[];
}

/** The entry Rekor stores for this proposal; EntryError when Rekor would answer 400. */
export function storedEntry(proposal: unknown): object {
  const { kind, apiVersion } = (proposal ?? {}) as { kind?: string; apiVersion?: string };
  if (kind === 'hashedrekord' && apiVersion === '0.0.1') return storedHashedRekord(proposal as HashedRekordProposal);
  if (kind === 'dsse' && apiVersion === '0.0.1') return storedDsse(proposal as DsseProposal);
  if (kind === 'intoto' && apiVersion === '0.0.2') return storedIntoto(proposal as IntotoProposal);
  throw new EntryError(`unsupported entry kind ${kind} ${apiVersion}`);
}

function storedHashedRekord(proposal: HashedRekordProposal): object {
  const hash = proposal.spec?.data?.hash;
  const signature = proposal.spec?.signature;
  if (!hash?.value || !['sha256', 'sha384', 'sha512'].includes(hash.algorithm ?? '') || !/^[0-9a-f]+$/.test(hash.value)) {
    throw new EntryError('hashedrekord: spec.data.hash must be a sha256, sha384 or sha512 hex digest');
  }
  if (!signature?.content || !signature.publicKey?.content)
    throw new EntryError('hashedrekord: spec.signature needs content and publicKey');
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: hash.algorithm, value: hash.value } },
      signature: { content: signature.content, publicKey: { content: signature.publicKey.content } },
    },
  };
}

function storedDsse(proposal: DsseProposal): object {
  const content = proposal.spec?.proposedContent;
  if (!content?.envelope || !content.verifiers?.length) throw new EntryError('dsse: spec.proposedContent needs an envelope and verifiers');
  let envelope: Envelope;
  try {
    envelope = JSON.parse(content.envelope) as Envelope;
  } catch {
    throw new EntryError('dsse: the envelope is not JSON');
  }
  if (typeof envelope.payload !== 'string' || typeof envelope.payloadType !== 'string' || !envelope.signatures?.length) {
    throw new EntryError('dsse: the envelope needs a payload, a payloadType and signatures');
  }
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = preAuthenticationEncoding(envelope.payloadType, payload);
  // As Rekor does: every signature must verify with one of the proposed verifiers.
  const signatures = envelope.signatures.map(({ sig }) => {
    const verifier = content.verifiers?.find((candidate) => verifies(candidate, pae, Buffer.from(sig, 'base64')));
    if (!verifier) throw new EntryError('dsse: a signature does not verify with any of the verifiers');
    return { signature: sig, verifier };
  });
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(Buffer.from(content.envelope)) },
      payloadHash: { algorithm: 'sha256', value: sha256(payload) },
      signatures,
    },
  };
}

function storedIntoto(proposal: IntotoProposal): object {
  const content = proposal.spec?.content;
  if (!content?.envelope || !content.hash || !content.payloadHash)
    throw new EntryError('intoto: spec.content needs envelope, hash and payloadHash');
  const { payload: _payload, ...envelope } = content.envelope;
  return { apiVersion: '0.0.2', kind: 'intoto', spec: { content: { envelope, hash: content.hash, payloadHash: content.payloadHash } } };
}

/** DSSE's PAE: what a DSSE signature signs. */
function preAuthenticationEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/**
 * Whether the signature verifies with this verifier (a base64 PEM certificate or public key),
 * with whichever hash the signer's key goes with (SHA-384 for P-384 keys, …).
 */
function verifies(verifier: string, data: Buffer, signature: Buffer): boolean {
  try {
    const key = crypto.createPublicKey(Buffer.from(verifier, 'base64').toString('utf8'));
    if (key.asymmetricKeyType === 'ed25519') return crypto.verify(null, data, key, signature);
    return ['sha256', 'sha384', 'sha512'].some((hash) => crypto.verify(hash, data, key, signature));
  } catch {
    return false;
  }
}

function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
