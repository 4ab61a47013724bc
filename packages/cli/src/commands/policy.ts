import { loadGatePolicy, SignetError, writeFileAtomic } from '@signet/core';
import type * as SignetOci from '@signet/oci';
import { createOutput, EXIT } from '../output';
import { signetOci } from './image';

interface PolicyExportFlags {
  kyverno?: boolean;
  kyvernoClusterpolicy?: boolean;
  policyController?: boolean;
  name?: string;
  namespace?: string;
  format?: string;
  out?: string;
}

const TARGETS = ['--kyverno', '--kyverno-clusterpolicy', '--policy-controller'];

/**
 * `signet policy export POLICY --kyverno [--namespace NS] | --kyverno-clusterpolicy |
 * --policy-controller [--out FILE]`: the policy's image rules as the admission controller's
 * policy, YAML on stdout or in FILE; what the controller cannot express goes to stderr as
 * warnings.
 */
export async function policyExport([file]: string[], flags: PolicyExportFlags): Promise<number> {
  if ([flags.kyverno, flags.kyvernoClusterpolicy, flags.policyController].filter(Boolean).length !== 1) {
    throw new SignetError({
      code: 'E_USAGE',
      message: `signet policy export needs one of ${TARGETS.join(', ')}: the admission controller to write a policy for (--kyverno for Kyverno 1.19 and later)`,
    });
  }
  if (flags.namespace !== undefined && !flags.kyverno) {
    throw new SignetError({
      code: 'E_USAGE',
      message: '--namespace goes with --kyverno (a NamespacedImageValidatingPolicy); the other exports are cluster-wide',
    });
  }
  if (flags.format !== undefined && flags.format !== 'bundle' && flags.format !== 'legacy') {
    throw new SignetError({ code: 'E_USAGE', message: `--format must be bundle or legacy, not "${flags.format}"` });
  }
  if (file === undefined) throw new SignetError({ code: 'E_USAGE', message: 'signet policy export needs <policy>' });
  const out = createOutput(false);
  const policy = await loadGatePolicy(file, { onWarning: out.warn });
  const oci = signetOci('signet policy export');
  const options: SignetOci.PolicyExportOptions = { name: flags.name, format: flags.format as SignetOci.PolicyExportOptions['format'] };
  // Kyverno's ImageValidatingPolicy finds a cosign v3 bundle or a legacy signature by itself: --format changes nothing there.
  const exported = flags.kyverno
    ? oci.kyvernoImageValidatingPolicy(policy, { name: flags.name, namespace: flags.namespace })
    : flags.kyvernoClusterpolicy
      ? oci.kyvernoPolicy(policy, options)
      : oci.policyControllerPolicy(policy, options);
  for (const warning of exported.warnings) out.warn(warning);
  const yaml = oci.toYaml(exported.documents);
  if (flags.out === undefined) {
    out.text(yaml);
  } else {
    await writeFileAtomic(flags.out, yaml);
    const count = exported.documents.length;
    const kinds = exported.documents.map((document) => (document as { kind: string }).kind);
    const kind = count === 1 ? kinds[0] : `${kinds[0]?.replace(/y$/, 'ie')}s`;
    out.info(`wrote ${flags.out} (${count} ${kind})`);
  }
  return EXIT.OK;
}
