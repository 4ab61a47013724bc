import { SigstoreVerifier, type X509Certificate } from '@freedomofpress/sigstore-browser';
import { normalizedJson } from './bundle.js';
import { fail, ManifestError } from './errors.js';
import { trustedLogs } from './tlog.js';
import { checkLogEntries, envelopeDigests, type IdentityRule, type KeylessRequest, type VerifiedManifest } from './verify.js';

/*
 * Keyless manifests: a Fulcio certificate, SCTs, Rekor entries and timestamps, checked by
 * @freedomofpress/sigstore-browser (a WebCrypto Sigstore verifier) against the trusted root the
 * policy carries (embedded when the app is built: nothing is fetched), and the certificate's
 * identity against the policy's rules, matched as @signet/core matches them: issuer and subject
 * exact or fully anchored, source repository and ref exact. Loaded only for a certificate, so
 * the key path stays small.
 */

type Certificate = InstanceType<typeof X509Certificate>;

export async function verifyKeyless({
  bundle,
  policy,
}: KeylessRequest): Promise<Pick<VerifiedManifest, 'signer' | 'timestamps' | 'tlogEntries'>> {
  if (!policy.trustedRoot)
    fail('E_TRUST_ROOT', 'the bundle is signed by a certificate, which needs a trusted root; give the policy a trustedRoot');
  const required = policy.tlogThreshold ?? 1;
  if (bundle.tlogEntries.length < required) {
    fail('E_TLOG', `the bundle has ${bundle.tlogEntries.length} transparency-log entries, and the policy requires ${required}`);
  }
  const rules: IdentityRule[] = policy.identities ?? [];
  const patterns = rules.map((rule) => ({
    rule,
    subject: rule.subjectRegExp ? anchored(rule.subjectRegExp) : undefined,
    issuer: rule.issuerRegExp ? anchored(rule.issuerRegExp) : undefined,
  }));
  let matched: { subject: string; issuer: string } | undefined;
  let validity: { notBefore: Date; notAfter: Date } | undefined;
  const identityPolicy = {
    verify(cert: Certificate) {
      validity = { notBefore: cert.notBefore, notAfter: cert.notAfter };
      const subject = cert.subjectAltName ?? '';
      const issuer = cert.extFulcioIssuerV2?.issuer ?? cert.extFulcioIssuerV1?.issuer ?? '';
      // One value each, read as @signet/core reads them: the source-repository extension, else
      // the legacy GitHub one as a URL; the ref likewise. Each compared exactly.
      const legacyRepository = cert.extGitHubWorkflowRepository?.workflowRepository;
      const repository =
        cert.extSourceRepositoryURI?.sourceRepositoryURI ?? (legacyRepository ? `https://github.com/${legacyRepository}` : undefined);
      const ref = cert.extSourceRepositoryRef?.sourceRepositoryRef ?? cert.extGitHubWorkflowRef?.workflowRef;
      const ok = patterns.some(({ rule, subject: s, issuer: i }) => {
        const subjectOk = s ? s.test(subject) : rule.subject === subject;
        const issuerOk = i ? i.test(issuer) : rule.issuer === issuer;
        const repositoryOk = rule.sourceRepository === undefined || rule.sourceRepository === repository;
        const refOk = rule.sourceRepositoryRef === undefined || rule.sourceRepositoryRef === ref;
        return subjectOk && issuerOk && repositoryOk && refOk;
      });
      if (!ok) throw new ManifestError('E_POLICY', `the certificate's identity ${subject} (issuer ${issuer}) is none the policy trusts`);
      matched = { subject, issuer };
    },
  };
  // The log entries as the key path checks them (SET, inclusion proof, checkpoint, body), in
  // addition to sigstore-browser's own checks: @signet/core refuses what fails either.
  const content = bundle.content;
  if (content?.kind !== 'dsse') return fail('E_BUNDLE', 'the bundle holds no DSSE envelope');
  const logs = await trustedLogs(policy.trustedRoot);
  await checkLogEntries(
    bundle.tlogEntries,
    logs,
    content.signatures[0] ?? new Uint8Array(0),
    await envelopeDigests(content.payloadType, content.payload),
  );
  // A certificate lives minutes (Fulcio's: ten), so its signature counts only at a time something
  // trusted vouches for: an entry's signed entry timestamp (its SET, checked with the entry above)
  // or an RFC 3161 timestamp (sigstore-browser checks every one against a trusted TSA and the
  // certificate's validity). An integratedTime without a SET is the bundle's word, not a time.
  const loggedTimes = bundle.tlogEntries
    .filter((entry) => entry.inclusionPromise)
    .map((entry) => new Date(Number(entry.integratedTime) * 1000));
  if (loggedTimes.length === 0 && bundle.rfc3161Timestamps === 0) {
    fail(
      'E_TIMESTAMP',
      'the certificate bundle has no trusted time (no transparency-log entry with a signed timestamp, no RFC 3161 timestamp): it cannot be verified',
    );
  }
  const verifier = new SigstoreVerifier({ tlogThreshold: required, ctlogThreshold: 1, tsaThreshold: bundle.rfc3161Timestamps });
  try {
    await verifier.loadSigstoreRoot(policy.trustedRoot as never);
    await verifier.verifyDsse(normalizedJson(bundle) as never, identityPolicy as never);
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    fail('E_CERTIFICATE', `the keyless signature does not verify: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (!matched || !validity) return fail('E_POLICY', 'the certificate was not checked against the policy');
  const { notBefore, notAfter } = validity;
  const outside = loggedTimes.find((time) => !(notBefore <= time && time <= notAfter));
  if (outside) {
    fail(
      'E_CERTIFICATE',
      `the log recorded the signature at ${outside.toISOString()}, outside the certificate's validity (${notBefore.toISOString()} to ${notAfter.toISOString()})`,
    );
  }
  return { signer: { kind: 'certificate', ...matched }, timestamps: loggedTimes, tlogEntries: bundle.tlogEntries.length };
}

function anchored(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (cause) {
    return fail('E_USAGE', `${pattern} is not a valid regular expression`, cause);
  }
}

export type { IdentityRule };
