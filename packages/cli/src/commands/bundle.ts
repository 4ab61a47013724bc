import {
  type BundleDescription,
  type CertificateDescription,
  type CertificateExtensions,
  describeBundle,
  readBundle,
  type TimestampDescription,
  type TlogEntryDescription,
} from '@signet/core';
import { count, createOutput } from '../output';

interface InspectFlags {
  json?: boolean;
}

/** `signet bundle inspect FILE`: what a bundle claims, read the way verify reads it, and checked not at all. */
export async function inspectBundle([file]: string[], flags: InspectFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  const description = describeBundle(await readBundle(file as string));
  if (out.json) out.data({ ok: true, bundle: file, ...description });
  else out.text(formatDescription(description));
}

export const NOT_VERIFIED = 'not verified: this shows what the bundle claims; use signet verify to check it';

/** A line of the report: a heading (no value) or a label and its value, indented by depth. */
type Row = [depth: number, label: string, value?: string];

/** Fulcio's extensions as people read them, in the order Fulcio numbers them. */
const EXTENSION_LABELS: Record<Exclude<keyof CertificateExtensions, 'issuer'>, string> = {
  buildSignerURI: 'build signer URI',
  buildSignerDigest: 'build signer digest',
  runnerEnvironment: 'runner environment',
  sourceRepository: 'source repository',
  sourceRepositoryDigest: 'source repository digest',
  sourceRepositoryRef: 'source repository ref',
  sourceRepositoryIdentifier: 'source repository id',
  sourceRepositoryOwnerURI: 'source repository owner',
  sourceRepositoryOwnerIdentifier: 'source repository owner id',
  buildConfigURI: 'build config URI',
  buildConfigDigest: 'build config digest',
  buildTrigger: 'build trigger',
  runInvocationURI: 'run invocation URI',
  sourceRepositoryVisibilityAtSigning: 'source repository visibility',
};

/** The report `signet bundle inspect` prints: sections of labels and values, the values in one column. */
export function formatDescription(description: BundleDescription): string {
  const rows: Row[] = [
    ...contentRows(description.content),
    ...signerRows(description.signer),
    ...tlogRows(description.tlogEntries),
    ...timestampRows(description.timestamps),
  ];
  const width = Math.max(...rows.filter((row) => row[2] !== undefined).map(([depth, label]) => depth * 2 + label.length)) + 2;
  const lines = rows.map(([depth, label, value]) => {
    const indent = '  '.repeat(depth);
    if (value === undefined) return depth === 0 ? `\n${label}` : `${indent}${label}`;
    return `${(indent + label).padEnd(width)}${value}`;
  });
  return [`Sigstore bundle v${description.version} (${description.mediaType})`, NOT_VERIFIED, ...lines, ''].join('\n');
}

function contentRows(content: BundleDescription['content']): Row[] {
  if (content.kind === 'messageSignature') {
    return [
      [0, 'Content: message signature'],
      [1, 'digest', `${content.digest.algorithm}:${content.digest.hex}`],
    ];
  }
  const rows: Row[] = [
    [0, 'Content: DSSE envelope'],
    [1, 'payload type', `${content.payloadType} (${count(content.payloadBytes, 'byte')})`],
    [1, 'signatures', String(content.signatures)],
  ];
  const { statement } = content;
  if (statement) {
    rows.push(
      [1, 'statement type', statement.type],
      [1, 'predicate type', statement.predicateType],
      [1, 'subjects', String(statement.subjects.length)],
    );
    for (const subject of statement.subjects) {
      rows.push([2, subject.name ?? '(no name)']);
      for (const [algorithm, value] of Object.entries(subject.digest)) rows.push([3, algorithm, value]);
    }
  }
  return rows;
}

function signerRows(signer: BundleDescription['signer']): Row[] {
  if (signer.kind === 'publicKey') {
    const rows: Row[] = [
      [0, 'Signer: public key'],
      [1, 'key hint', signer.hint === '' ? '(none)' : signer.hint],
    ];
    if (signer.fingerprint) rows.push([1, 'fingerprint', signer.fingerprint]);
    return rows;
  }
  return certificateRows(signer);
}

function certificateRows(cert: CertificateDescription): Row[] {
  const rows: Row[] = [
    [0, 'Signer: certificate'],
    [1, 'subject', cert.subject ?? '(none)'],
    [1, 'issuer', cert.issuer ?? '(no OIDC issuer extension)'],
    [1, 'issued by', cert.issuedBy ?? '(unreadable)'],
    [1, 'serial', cert.serialNumber],
    [1, 'not before', cert.notBefore],
    [1, 'not after', cert.notAfter],
  ];
  if (cert.chainLength > 1) rows.push([1, 'chain', `${count(cert.chainLength, 'certificate')}, the leaf first`]);
  const extensions = (Object.keys(EXTENSION_LABELS) as (keyof typeof EXTENSION_LABELS)[]).filter((key) => cert.extensions[key]);
  if (extensions.length > 0) {
    rows.push([1, 'Fulcio extensions']);
    for (const key of extensions) rows.push([2, EXTENSION_LABELS[key], cert.extensions[key] as string]);
  }
  return rows;
}

function tlogRows(entries: TlogEntryDescription[]): Row[] {
  const rows: Row[] = [[0, `Transparency log: ${entries.length === 0 ? 'no entries' : count(entries.length, 'entry', 'entries')}`]];
  entries.forEach((entry, i) => {
    const proof = entry.inclusionProof;
    rows.push(
      [1, `entry ${i + 1}`, `${entry.kind} ${entry.version}`],
      [2, 'log id', entry.logId],
      [2, 'log index', entry.logIndex],
      [2, 'integrated time', entry.integratedAt ? `${entry.integratedAt} (as the entry claims)` : integratedTimeNote(entry)],
      [2, 'inclusion promise', entry.inclusionPromise ? 'yes (a signed entry timestamp)' : 'no'],
      [2, 'inclusion proof', proof ? `tree size ${proof.treeSize}, ${count(proof.hashes, 'hash', 'hashes')}` : 'none'],
    );
    if (proof) rows.push([2, 'checkpoint', proof.checkpoint ? proof.checkpoint.origin : 'none']);
  });
  return rows;
}

function integratedTimeNote(entry: TlogEntryDescription): string {
  return entry.integratedTime === '0' ? '0 (Rekor v2: no log time)' : `${entry.integratedTime} (not a time)`;
}

function timestampRows(timestamps: TimestampDescription[]): Row[] {
  const rows: Row[] = [[0, `RFC 3161 timestamps: ${timestamps.length === 0 ? 'none' : timestamps.length}`]];
  timestamps.forEach((timestamp, i) => {
    rows.push([1, `timestamp ${i + 1}`], [2, 'signing time', `${timestamp.signingTime} (as the TSA claims)`]);
    if (timestamp.tsaName) rows.push([2, 'TSA', timestamp.tsaName]);
    if (timestamp.serialNumber) rows.push([2, 'serial', timestamp.serialNumber]);
  });
  return rows;
}
