/*
 * Vault's ACL policies, reduced to what Transit clients meet: path rules with capabilities,
 * `*` at the end of a path as a prefix glob, `+` for one path segment, the most specific
 * matching rule deciding, and `deny` beating everything.
 */

export type Capability = 'create' | 'read' | 'update' | 'delete' | 'list' | 'sudo' | 'deny';

export interface PolicyRule {
  /** A path under the namespace, as in a policy file: `transit/sign/release/*`, `ns1/transit/keys/+`. */
  path: string;
  capabilities: Capability[];
}

/** A token's policy: its rules, or `root` (everything). */
export type TokenPolicy = readonly PolicyRule[] | 'root';

export function allows(policy: TokenPolicy, path: string, wanted: readonly Capability[]): boolean {
  if (policy === 'root') return true;
  const rule = mostSpecific(policy.filter((r) => matches(r.path, path)));
  if (!rule || rule.capabilities.includes('deny')) return false;
  return wanted.some((capability) => rule.capabilities.includes(capability));
}

function matches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith('*');
  const body = glob ? pattern.slice(0, -1) : pattern;
  const source = body
    .split('+')
    .map((part) => part.replace(/[.*?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${source}${glob ? '.*' : ''}$`).test(path);
}

/** An exact rule beats a glob; among globs, the longer (more specific) pattern wins. */
function mostSpecific(rules: readonly PolicyRule[]): PolicyRule | undefined {
  const exact = rules.find((r) => !r.path.endsWith('*') && !r.path.includes('+'));
  if (exact) return exact;
  return [...rules].sort((a, b) => b.path.length - a.path.length)[0];
}
