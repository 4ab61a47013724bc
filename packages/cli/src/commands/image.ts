import {
  checkPredicate,
  loadGatePolicy,
  loadTrustedRoot,
  readRegularFile,
  resolvePredicateType,
  SignetError,
  type TrustedRoot,
} from '@signet/core';
import type * as SignetOci from '@signet/oci';
import { createOutput, EXIT, type Output } from '../output';
import { type SigningFlags, signingContext } from './signing';
import { policyFromFlags, type TrustFlags } from './trust';

/** @signet/oci, loaded when an image or policy command runs (the CLI bundle leaves it outside). */
export function signetOci(command = 'signet image'): typeof SignetOci {
  try {
    return require('@signet/oci') as typeof SignetOci;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw cause;
    throw new SignetError({
      code: 'E_PROVIDER_MISSING',
      message: `${command} needs @signet/oci: npm install --save-dev @signet/oci`,
      cause,
    });
  }
}

/** The trusted root, loaded only when a signature needs one, from the flags every verifying command takes. */
function trustedRootLoader(flags: TrustFlags, out: Output): () => Promise<TrustedRoot> {
  return () =>
    loadTrustedRoot({
      trustedRootPath: flags.trustedRoot,
      tufMirror: flags.tufMirror,
      tufRootPath: flags.tufRoot,
      offline: flags.offline,
      onWarning: out.warn,
    });
}

interface RegistryFlags {
  allowHttpRegistry?: boolean;
  json?: boolean;
}

/**
 * The registry client for the images a command names. --allow-http-registry allows plain HTTP
 * to those registries only (and loopback, as always), never to a host one of them sends Signet to.
 */
function clientFor(flags: RegistryFlags, references: (string | undefined)[]): SignetOci.RegistryClient {
  const { RegistryClient, parseImageReference } = signetOci();
  if (!flags.allowHttpRegistry) return new RegistryClient();
  const named = new Set(references.map((reference) => parseImageReference(reference as string).registry));
  return new RegistryClient({ allowHttp: (registry) => named.has(registry) || LOOPBACK_REGISTRY.test(registry) });
}

const LOOPBACK_REGISTRY = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

interface ImageSignFlags extends SigningFlags, RegistryFlags {
  resolve?: boolean;
  format?: SignetOci.SignatureFormat;
  recursive?: boolean;
}

/** `signet image sign REGISTRY/REPO@sha256:… --key REF`: a cosign-format signature attached in the registry. */
export async function imageSign([reference]: string[], flags: ImageSignFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  // A usage error before the key is opened (a passphrase asked for, a KMS called).
  signetOci().assertSignable(reference as string, flags.resolve ?? false);
  const { signer, options } = await signingContext(flags, out);
  const signed = await signetOci().signImage(reference as string, signer, {
    client: clientFor(flags, [reference]),
    resolve: flags.resolve,
    format: flags.format,
    recursive: flags.recursive,
    signing: options,
    // A tag is resolved once; say which digest is being signed before signing it.
    onResolved: (pinned) => {
      if (pinned !== reference) out.info(`resolved ${reference} to ${pinned}`);
    },
  });
  reportWritten(out, 'signed', signed);
}

interface ImageAttestFlags extends ImageSignFlags {
  predicate: string;
  type: string;
}

/** `signet image attest REF --predicate FILE --type TYPE --key REF`: a signed statement about the image, as a referrer. */
export async function imageAttest([reference]: string[], flags: ImageAttestFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  const predicateType = resolvePredicateType(flags.type);
  let predicate: unknown;
  try {
    predicate = JSON.parse((await readRegularFile(flags.predicate)).toString('utf8'));
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    throw new SignetError({ code: 'E_INPUT', message: `${flags.predicate} is not a readable JSON file`, cause });
  }
  checkPredicate(predicateType, predicate);
  signetOci().assertSignable(reference as string, flags.resolve ?? false);
  const { signer, options } = await signingContext(flags, out);
  const attested = await signetOci().attestImage(reference as string, signer, {
    client: clientFor(flags, [reference]),
    resolve: flags.resolve,
    recursive: flags.recursive,
    signing: options,
    predicateType,
    predicate,
    onResolved: (pinned) => {
      if (pinned !== reference) out.info(`resolved ${reference} to ${pinned}`);
    },
  });
  reportWritten(out, `attested (${predicateType})`, attested);
}

function reportWritten(out: Output, what: string, result: SignetOci.SignedImage): void {
  for (const s of result.signatures)
    out.info(`${what} ${s.digest}: ${s.format === 'bundle' ? `referrer ${s.location}` : `legacy ${s.location}`}`);
  if (out.json) out.data({ ok: true, ...result });
  else out.text(result.reference);
}

interface ImageVerifyFlags extends TrustFlags, RegistryFlags {
  policy?: string;
}

/**
 * `signet image verify REF (--key … | identity flags | --policy FILE)`: exit 0 with who
 * signed, or 1 with what was found. With --policy, the image is judged by the gate policy's
 * image rules, as the admission webhook judges it.
 */
export async function imageVerify([reference]: string[], flags: ImageVerifyFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const client = clientFor(flags, [reference]);
  const trustedRoot = trustedRootLoader(flags, out);
  if (flags.policy) {
    const verdict = await signetOci().verifyImageForPolicy(
      reference as string,
      await loadGatePolicy(flags.policy, { onWarning: out.warn }),
      {
        client,
        trustedRoot,
      },
    );
    if (!verdict.ok) throw new SignetError({ code: verdict.code ?? 'E_POLICY', message: `${reference}: ${verdict.reason}` });
    out.info(`verified ${verdict.pinned}: ${verdict.reason}`);
    if (out.json) out.data(verdict);
    else out.text(verdict.pinned as string);
    return EXIT.OK;
  }
  const verified = await signetOci().verifyImage(reference as string, await policyFromFlags(flags), { client, trustedRoot });
  for (const s of verified.signatures)
    out.info(`verified ${s.format} signature ${s.location} of ${s.signedDigest} by ${describeSigner(s.verified.signer)}`);
  for (const r of verified.rejected) out.warn(`${r.location}: ${r.code}: ${r.reason}`);
  if (out.json) out.data({ ok: true, ...verified });
  else out.text(verified.reference);
  return EXIT.OK;
}

interface ImageVerifyAttestationFlags extends ImageVerifyFlags {
  type: string;
}

export async function imageVerifyAttestation([reference]: string[], flags: ImageVerifyAttestationFlags): Promise<number> {
  const out = createOutput(Boolean(flags.json));
  const verified = await signetOci().verifyImageAttestation(reference as string, await policyFromFlags(flags), flags.type, {
    client: clientFor(flags, [reference]),
    trustedRoot: trustedRootLoader(flags, out),
  });
  for (const s of verified.signatures)
    out.info(`verified attestation ${s.location} of ${s.signedDigest} by ${describeSigner(s.verified.signer)}`);
  if (out.json) out.data({ ok: true, reference: verified.reference, digest: verified.digest, statements: verified.statements });
  else out.text(JSON.stringify(verified.statements, null, 2));
  return EXIT.OK;
}

/** `signet image copy SRC DST`: the image with its signatures and attestations. */
export async function imageCopy([source, destination]: string[], flags: RegistryFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  const copied = await signetOci().copyImage(source as string, destination as string, { client: clientFor(flags, [source, destination]) });
  out.info(
    `copied ${source} to ${copied.reference}: ${copied.manifests} manifests, ${copied.referrers} referrers, ${copied.legacyTags} legacy signature tags`,
  );
  if (out.json) out.data({ ok: true, ...copied });
  else out.text(copied.reference);
}

function describeSigner(signer: SignetOci.ImageSignature['verified']['signer']): string {
  return signer.kind === 'key' ? `key ${signer.name}` : `${signer.subject} (issuer ${signer.issuer})`;
}
