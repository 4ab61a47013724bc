// The two CI runners, reduced to what they do with Signet's templates, so the templates' own
// scripts run here unchanged:
// - GitHub Actions, a composite action: inputs with their defaults, `${{ … }}` substituted in
//   each step's env and run, each `shell: bash` step run as `bash --noprofile --norc -eo pipefail`,
//   GITHUB_OUTPUT, GITHUB_PATH and GITHUB_ENV read back between steps, the action's outputs.
// - GitLab CI/CD, a component: `$[[ inputs.… ]]` interpolated into the job with the spec's
//   defaults, id_tokens minted with the audience the job asks for, variables set, and the
//   script's lines run in one bash with `set -eo pipefail`.
// An expression or input neither runner would accept fails the run, so a template cannot lean
// on something only this simulation does.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { type CommandResult, command } from './commands';

interface ActionYaml {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  outputs?: Record<string, { value: string }>;
  runs: {
    using: string;
    steps: { id?: string; name?: string; shell?: string; env?: Record<string, string>; run?: string; uses?: string }[];
  };
}

export interface ActionRun {
  ok: boolean;
  outputs: Record<string, string>;
  steps: (CommandResult & { id: string })[];
}

/** Runs the composite action in ACTION_DIR as a GitHub-hosted runner would, in WORKSPACE. */
export async function runGitHubAction(
  actionDir: string,
  options: { inputs: Record<string, string>; workspace: string; runnerTemp: string; env: NodeJS.ProcessEnv },
): Promise<ActionRun> {
  const action = YAML.parse(fs.readFileSync(path.join(actionDir, 'action.yml'), 'utf8')) as ActionYaml;
  if (action.runs.using !== 'composite') throw new Error(`action.yml runs ${action.runs.using}, not composite`);
  const declared = action.inputs ?? {};
  for (const name of Object.keys(options.inputs)) if (!declared[name]) throw new Error(`action.yml has no input ${name}`);
  const inputs = Object.fromEntries(Object.entries(declared).map(([name, spec]) => [name, options.inputs[name] ?? spec.default ?? '']));
  const context = {
    inputs,
    github: { action_path: actionDir, workspace: options.workspace },
    runner: { temp: options.runnerTemp },
    steps: {} as Record<string, { outputs: Record<string, string> }>,
  };
  const evaluate = (text: string) =>
    text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expression: string) => {
      const value = expression.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], context);
      if (typeof value !== 'string') throw new Error(`\${{ ${expression} }} is not something this runner knows`);
      return value;
    });
  if (/\$\{\{(?![\s]*[\w.-]+\s*\}\})/.test(JSON.stringify(action))) throw new Error('action.yml uses an expression beyond a context value');

  const addedPath: string[] = [];
  const addedEnv: Record<string, string> = {};
  const steps: ActionRun['steps'] = [];
  for (const [index, step] of action.runs.steps.entries()) {
    if (step.uses || step.shell !== 'bash' || step.run === undefined)
      throw new Error(`step ${index + 1} is not a run step with shell: bash`);
    const id = step.id ?? `__step${index}`;
    const files = Object.fromEntries(
      ['GITHUB_OUTPUT', 'GITHUB_PATH', 'GITHUB_ENV'].map((name) => [name, path.join(options.runnerTemp, `${name}-${index}`)]),
    );
    for (const file of Object.values(files)) fs.writeFileSync(file, '');
    const script = path.join(options.runnerTemp, `step-${index}.sh`);
    fs.writeFileSync(script, evaluate(step.run));
    const env: NodeJS.ProcessEnv = {
      ...options.env,
      ...addedEnv,
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([name, value]) => [name, evaluate(String(value))])),
      ...files,
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_ACTION_PATH: actionDir,
      GITHUB_WORKSPACE: options.workspace,
      RUNNER_TEMP: options.runnerTemp,
      PATH: [...addedPath, options.env.PATH ?? ''].join(path.delimiter),
    };
    const result = await command('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: options.workspace,
      env,
      timeoutMs: 240_000,
    });
    steps.push({ ...result, id });
    if (result.status !== 0) return { ok: false, outputs: {}, steps };
    context.steps[id] = { outputs: readKeyValues(files.GITHUB_OUTPUT as string) };
    Object.assign(addedEnv, readKeyValues(files.GITHUB_ENV as string));
    const lines = fs
      .readFileSync(files.GITHUB_PATH as string, 'utf8')
      .split('\n')
      .filter(Boolean);
    addedPath.unshift(...lines.reverse());
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs ?? {}).map(([name, output]) => [name, evaluate(output.value)]));
  return { ok: true, outputs, steps };
}

/** GITHUB_OUTPUT and GITHUB_ENV: `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks. */
function readKeyValues(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2] as string, i + 1);
      if (end < 0) throw new Error(`${file}: ${heredoc[1]}<<${heredoc[2]} is never closed`);
      values[heredoc[1] as string] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

interface ComponentSpec {
  spec: { inputs: Record<string, { default?: string; options?: string[] }> };
}

interface GitLabJob {
  id_tokens?: Record<string, { aud: string | string[] }>;
  variables?: Record<string, string>;
  script: string[];
}

/**
 * Runs the one job of the component in TEMPLATE as a GitLab runner with a bash shell would, in
 * WORKSPACE (CI_PROJECT_DIR). MINT makes each id_token for the audience the job names.
 */
export async function runGitLabComponent(
  template: string,
  options: {
    inputs: Record<string, string>;
    workspace: string;
    env: NodeJS.ProcessEnv;
    mint: (audience: string | string[]) => Promise<string>;
  },
): Promise<CommandResult & { job: string }> {
  const [header, body] = fs.readFileSync(template, 'utf8').split(/^---$/m);
  if (header === undefined || body === undefined) throw new Error(`${template} is not a spec, ---, then the jobs`);
  const { spec } = YAML.parse(header) as ComponentSpec;
  for (const name of Object.keys(options.inputs)) if (!spec.inputs[name]) throw new Error(`${template} has no input ${name}`);
  const inputs = Object.fromEntries(
    Object.entries(spec.inputs).map(([name, input]) => {
      const value = options.inputs[name] ?? input.default;
      if (value === undefined) throw new Error(`input ${name} is required`);
      if (input.options && !input.options.includes(value)) throw new Error(`input ${name} must be one of ${input.options.join(', ')}`);
      return [name, value];
    }),
  );
  const interpolated = body.replace(/\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g, (_, name: string) => {
    if (!(name in inputs)) throw new Error(`$[[ inputs.${name} ]] is not a declared input`);
    return inputs[name] as string;
  });
  if (interpolated.includes('$[[')) throw new Error('the component uses an interpolation beyond $[[ inputs.NAME ]]');
  const jobs = YAML.parse(interpolated) as Record<string, GitLabJob>;
  const [job, definition] = Object.entries(jobs)[0] ?? [];
  if (!job || !definition) throw new Error(`${template} defines no job`);
  const tokens = Object.fromEntries(
    await Promise.all(Object.entries(definition.id_tokens ?? {}).map(async ([name, token]) => [name, await options.mint(token.aud)])),
  );
  const script = ['set -eo pipefail', 'set +o noclobber', ...definition.script].join('\n');
  const result = await command('bash', ['--noprofile', '--norc', '-c', script], {
    cwd: options.workspace,
    env: {
      ...options.env,
      ...Object.fromEntries(Object.entries(definition.variables ?? {}).map(([name, value]) => [name, String(value)])),
      ...tokens,
      CI: 'true',
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: options.workspace,
      CI_JOB_NAME: job,
    },
    timeoutMs: 240_000,
  });
  return { ...result, job };
}
