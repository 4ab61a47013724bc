import {
  createVerifier,
  describeBundle,
  describeIdentityRule,
  ledgerRecordsOf,
  parseBundle,
  SignetError,
  type TrustedRoot,
} from '@signet/core';
import type { NpmPackageSpec } from './config';
import type { ScanContext } from './context';
import { fetchJson } from './fetch';

/*
 * npm: for each watched package, its packument (`GET /<name>`: versions, `time`, each version's
 * `dist.attestations`). A version the ledger does not hold is an alert: a token publish leaves
 * no log entry, so only the registry shows it. So is a version without provenance where the
 * package requires it or has had it, and provenance that does not verify or was signed by an
 * identity the package's policy does not expect (verified by core's verifier, against the
 * tarball's sha512 from `dist.integrity`). The first run takes the versions already there as
 * seen (or, with --since DATE, those published before it).
 */

const SLSA_PROVENANCE_TYPES = ['https://slsa.dev/provenance/v1', 'https://slsa.dev/provenance/v0.2'];

interface Packument {
  versions?: Record<string, { dist?: { integrity?: string; attestations?: { url?: string } } }>;
  time?: Record<string, string>;
}

export async function watchPackage(
  ctx: ScanContext,
  registry: string,
  spec: NpmPackageSpec,
  trustedRoot: () => Promise<TrustedRoot>,
): Promise<void> {
  const base = registry.replace(/\/+$/, '');
  const service = `the npm registry ${base}`;
  const packument = (await fetchJson(ctx.fetcher, `${base}/${spec.name.replace('/', '%2f')}`, { service, notFound: 'undefined' })) as
    | Packument
    | undefined;
  const versions = Object.keys(packument?.versions ?? {}).sort((a, b) => published(packument, a) - published(packument, b));
  const source = `${base}/${spec.name}`;
  let state = ctx.state.npm[spec.name];
  if (!state) {
    const after = ctx.since?.date?.getTime();
    const before = after === undefined ? versions : versions.filter((version) => published(packument, version) < after);
    state = { versions: before, hadProvenance: before.some((version) => packument?.versions?.[version]?.dist?.attestations !== undefined) };
    ctx.state.npm[spec.name] = state;
  }
  for (const version of versions) {
    if (state.versions.includes(version)) continue;
    const manifest = packument?.versions?.[version] ?? {};
    const where = { source, package: spec.name, version };
    const release = `${spec.name}@${version}`;
    if (!ctx.packages.has(release)) {
      ctx.alert('npm-unexpected-version', [spec.name, version], {
        ...where,
        reason: `${release} was published${packument?.time?.[version] ? ` at ${packument.time[version]}` : ''} and is not in the ledger`,
      });
    }
    const attestations = manifest.dist?.attestations;
    if (!attestations) {
      if (spec.provenance === 'required' || (spec.provenance === 'auto' && state.hadProvenance)) {
        ctx.alert('npm-provenance-missing', [spec.name, version], {
          ...where,
          reason: `${release} has no provenance, ${spec.provenance === 'required' ? 'which the package requires' : 'where earlier versions had it'}: a publish from outside the release workflow (a token)`,
        });
      }
    } else {
      state.hadProvenance = true;
      if (spec.identities.length > 0) await checkProvenance(ctx, base, release, manifest.dist?.integrity, spec, where, trustedRoot);
    }
    state.versions.push(version);
    await ctx.progress('now');
  }
}

function published(packument: Packument | undefined, version: string): number {
  const time = Date.parse(packument?.time?.[version] ?? '');
  return Number.isNaN(time) ? 0 : time;
}

async function checkProvenance(
  ctx: ScanContext,
  registry: string,
  release: string,
  integrity: string | undefined,
  spec: NpmPackageSpec,
  where: { source: string; package: string; version: string },
  trustedRoot: () => Promise<TrustedRoot>,
): Promise<void> {
  const invalid = (reason: string) =>
    ctx.alert('npm-provenance-invalid', [where.package, where.version], { ...where, reason: `${release}: ${reason}` });
  // The attestations are read from the registry itself, whatever URL the packument names.
  const document = (await fetchJson(ctx.fetcher, `${registry}/-/npm/v1/attestations/${release.replace('/', '%2f')}`, {
    service: `the npm registry ${registry}`,
    notFound: 'undefined',
  })) as { attestations?: { predicateType?: string; bundle?: unknown }[] } | undefined;
  const sha512 = /^sha512-([A-Za-z0-9+/]+={0,2})$/.exec(integrity ?? '')?.[1];
  if (!sha512) return invalid('its dist.integrity is not a sha512, so its provenance cannot be checked against it');
  const provenance = (document?.attestations ?? []).find((attestation) =>
    SLSA_PROVENANCE_TYPES.includes(String(attestation.predicateType)),
  );
  if (!provenance) return invalid('the registry lists attestations but serves no SLSA provenance for it');
  const [name, version] = [where.package, where.version];
  try {
    const bundle = parseBundle(provenance.bundle, `the provenance of ${release}`);
    await createVerifier({ policy: { identities: spec.identities, predicateTypes: SLSA_PROVENANCE_TYPES }, trustedRoot }).verify(bundle, {
      digest: { algorithm: 'sha512', value: Buffer.from(sha512, 'base64') },
      name: `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`,
    });
    // npm, not Signet, logged this provenance, from your release workflow: for a release the
    // ledger holds, its log entry is yours too, and scanning the logs must not alert on it.
    if (ctx.packages.has(release)) ctx.expect(ledgerRecordsOf(bundle).flatMap((record) => (record.leaf ? [record.leaf] : [])));
  } catch (error) {
    if (!(error instanceof SignetError)) throw error;
    if (error.code === 'E_TRUST_ROOT' || error.code === 'E_PROVIDER') throw error;
    if (error.code === 'E_POLICY') {
      const signer = signerOf(provenance.bundle);
      ctx.alert('npm-provenance-identity', [where.package, where.version], {
        ...where,
        reason: `${release}'s provenance was signed by ${signer}, not the identity the policy expects (${spec.identities.map(describeIdentityRule).join('; ')})`,
      });
      return;
    }
    invalid(`its provenance does not verify (${error.code}: ${error.message})`);
  }
}

function signerOf(json: unknown): string {
  try {
    const signer = describeBundle(parseBundle(json)).signer;
    if (signer.kind !== 'certificate') return `key ${signer.fingerprint ?? signer.hint}`;
    const repository = signer.extensions?.sourceRepository;
    return `${signer.subject ?? 'an unnamed identity'}${repository ? ` (run by ${repository})` : ''}`;
  } catch {
    return 'an identity that cannot be read';
  }
}
