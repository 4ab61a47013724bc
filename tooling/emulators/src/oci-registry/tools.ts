// Which of Debian's registry tools this machine has, and the describe() that skips without them.
import fs from 'node:fs';
import path from 'node:path';

/** The Debian packages that provide the tools, for install hints in skips and errors. */
export const REGISTRY_TOOL_PACKAGES = ['docker-registry', 'skopeo', 'apache2-utils'] as const;
export const INSTALL_HINT = `apt-get install -y ${REGISTRY_TOOL_PACKAGES.join(' ')}`;

export type RegistryTool = 'dockerRegistry' | 'skopeo' | 'htpasswd';

const COMMANDS: Record<RegistryTool, { command: string; pkg: string }> = {
  dockerRegistry: { command: 'docker-registry', pkg: 'docker-registry' },
  skopeo: { command: 'skopeo', pkg: 'skopeo' },
  htpasswd: { command: 'htpasswd', pkg: 'apache2-utils' },
};

/** The executable for a tool: found on PATH first, then in /usr/bin where Debian puts it. */
export function registryToolPath(tool: RegistryTool): string | undefined {
  const { command } = COMMANDS[tool];
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The tool's path, or an error that says which Debian package to install. */
export function requireRegistryTool(tool: RegistryTool): string {
  const found = registryToolPath(tool);
  if (!found) {
    const { command, pkg } = COMMANDS[tool];
    throw new Error(`${command} is not installed: install the Debian package ${pkg} (${INSTALL_HINT})`);
  }
  return found;
}

/** Whether docker-registry, skopeo and htpasswd (apache2-utils) are installed. */
export function registryToolsAvailable(): { dockerRegistry: boolean; skopeo: boolean; htpasswd: boolean } {
  return {
    dockerRegistry: registryToolPath('dockerRegistry') !== undefined,
    skopeo: registryToolPath('skopeo') !== undefined,
    htpasswd: registryToolPath('htpasswd') !== undefined,
  };
}

/** Jest's describe, typed here because this module is compiled without @types/jest. */
interface JestDescribe {
  (name: string, body: () => void): void;
  skip(name: string, body: () => void): void;
}

export interface DescribeWithRegistryToolsOptions {
  /** The tools this block needs (default all three). */
  requires?: RegistryTool[];
}

/**
 * describe() when the registry tools are installed, describe.skip() with a warning naming the
 * Debian packages when one is missing, so a machine without them skips rather than fails.
 */
export function describeWithRegistryTools(name: string, body: () => void, options: DescribeWithRegistryToolsOptions = {}): void {
  const describe = (globalThis as unknown as { describe?: JestDescribe }).describe;
  if (!describe) throw new Error('describeWithRegistryTools() is for jest test files (describe is not defined here)');
  const requires = options.requires ?? (Object.keys(COMMANDS) as RegistryTool[]);
  const missing = requires.filter((tool) => registryToolPath(tool) === undefined);
  if (missing.length > 0) {
    const what = missing.map((tool) => `${COMMANDS[tool].command} (Debian package ${COMMANDS[tool].pkg})`).join(', ');
    console.warn(`${name}: skipped, not installed: ${what}; ${INSTALL_HINT}`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}
