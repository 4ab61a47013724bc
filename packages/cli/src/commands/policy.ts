import { loadGatePolicy, SignetError, writeFileAtomic } from '@signet/core';
import type * as SignetOci from '@signet/oci';
import { createOutput, EXIT } from '../output';
import { signetOci } from './image';

interface PolicyExportFlags {
  kyverno?: boolean;
  policyController?: boolean;
  name?: string;
  format?: string;
  out?: string;
}

/**
 * `signet policy export POLICY --kyverno | --policy-controller [--out FILE]`: the policy's
 * image rules as the admission controller's policy, YAML on stdout or in FILE; what the
 * controller cannot express goes to stderr as warnings.
 */
export async function policyExport([file]: string[], flags: PolicyExportFlags): Promise<number> {
  if (Boolean(flags.kyverno) === Boolean(flags.policyController)) {
    throw new SignetError({
      code: 'E_USAGE',
      message: 'signet policy export needs one of --kyverno and --policy-controller: the admission controller to write a policy for',
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
  const exported = flags.kyverno ? oci.kyvernoPolicy(policy, options) : oci.policyControllerPolicy(policy, options);
  for (const warning of exported.warnings) out.warn(warning);
  const yaml = oci.toYaml(exported.documents);
  if (flags.out === undefined) {
    out.text(yaml);
  } else {
    await writeFileAtomic(flags.out, yaml);
    const count = exported.documents.length;
    const kind = flags.kyverno ? 'ClusterPolicy' : count === 1 ? 'ClusterImagePolicy' : 'ClusterImagePolicies';
    out.info(`wrote ${flags.out} (${count} ${kind})`);
  }
  return EXIT.OK;
}
