import { parseArgs } from 'node:util';
import { SignetError } from '@signet/core';
import { count } from './output';

/*
 * The command table and its parser, over node:util's parseArgs. `signet verify` runs in
 * deploy steps and admission paths where start-up time is the cost, so the CLI loads
 * no argument-parsing library: parseArgs does the parsing, this file only knows which
 * command was asked for, checks required flags and choices, and prints help.
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Shown in help as --flag <valueName>. */
  valueName?: string;
  multiple?: boolean;
  required?: boolean;
  choices?: readonly string[];
  default?: string;
  short?: string;
}

export interface ArgumentSpec {
  name: string;
  description: string;
  variadic?: boolean;
  /** May be left out (only the last arguments). */
  optional?: boolean;
}

export interface CommandSpec {
  /** One or two words: `verify`, `key generate`. */
  name: string;
  summary: string;
  args: ArgumentSpec[];
  options: Record<string, OptionSpec>;
  /** Lines appended to the help: examples, exit statuses. */
  help: string;
  /** Loads the command's module only when it runs; may resolve to the exit status. */
  run: (positionals: string[], options: Record<string, unknown>) => Promise<number | undefined>;
}

export type ParsedCommand =
  | { kind: 'run'; command: CommandSpec; positionals: string[]; options: Record<string, unknown> }
  | { kind: 'help'; text: string }
  | { kind: 'version' };

const usageError = (message: string) => new SignetError({ code: 'E_USAGE', message: `${message} (see signet --help)` });

/** Finds the command in argv and parses its flags, or says what help or version to print. */
export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[], overview: string): ParsedCommand {
  const [first, second] = argv;
  if (first === undefined) throw usageError('no command given');
  if (first === '--help' || first === '-h' || first === 'help') return { kind: 'help', text: overview };
  if (first === '--version' || first === '-v') return { kind: 'version' };

  const command = commands.find((c) => c.name === `${first} ${second}`) ?? commands.find((c) => c.name === first);
  if (!command) {
    const group = commands.filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0) {
      if (second === '--help' || second === '-h') return { kind: 'help', text: groupHelp(first, group) };
      const subcommands = group.map((c) => c.name.split(' ')[1]).join(', ');
      if (second === undefined) throw usageError(`${first} needs a command: ${subcommands}`);
      throw usageError(`unknown command "${first} ${second}"; ${first} has ${subcommands}`);
    }
    throw usageError(`unknown command "${first}"`);
  }
  const rest = argv.slice(command.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help', text: commandHelp(command) };

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: Object.fromEntries(
        Object.entries(command.options).map(([flag, spec]) => [
          flag,
          { type: spec.type, multiple: spec.multiple ?? false, ...(spec.short ? { short: spec.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw usageError((cause as Error).message.replace(/\. To specify a positional argument.*$/, ''));
  }
  const options: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(command.options)) {
    let value = parsed.values[flag] ?? spec.default ?? (spec.multiple ? [] : undefined);
    if (value === undefined && spec.required) throw usageError(`${command.name} needs --${flag}`);
    if (typeof value === 'string' && spec.choices && !spec.choices.includes(value)) {
      throw usageError(`--${flag} must be one of ${spec.choices.join(', ')}, not "${value}"`);
    }
    if (Array.isArray(value)) value = [...value];
    options[camelCase(flag)] = value;
  }
  checkPositionals(command, parsed.positionals);
  return { kind: 'run', command, positionals: parsed.positionals, options };
}

function checkPositionals(command: CommandSpec, positionals: string[]): void {
  const variadic = command.args.some((a) => a.variadic);
  const required = command.args.filter((a) => !a.optional).length;
  if (positionals.length < required) {
    throw usageError(`${command.name} needs <${command.args[positionals.length]?.name}>`);
  }
  if (!variadic && positionals.length > command.args.length) {
    throw usageError(
      `${command.name} takes ${count(command.args.length, 'argument')}, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function commandHelp(command: CommandSpec): string {
  const args = command.args
    .map((a) => {
      const name = a.variadic ? `<${a.name}...>` : `<${a.name}>`;
      return a.optional ? `[${name}]` : name;
    })
    .join(' ');
  const lines = [`Usage: signet ${command.name}${args ? ` ${args}` : ''} [options]`, '', command.summary, ''];
  if (command.args.length > 0) {
    lines.push('Arguments:');
    for (const a of command.args) lines.push(row(a.name, a.description));
    lines.push('');
  }
  lines.push('Options:');
  for (const [flag, spec] of Object.entries(command.options)) {
    const name = `${spec.short ? `-${spec.short}, ` : ''}--${flag}${spec.type === 'string' ? ` <${spec.valueName ?? 'value'}>` : ''}`;
    const notes = [
      spec.required ? 'required' : '',
      spec.multiple ? 'repeatable' : '',
      spec.choices ? `one of: ${spec.choices.join(', ')}` : '',
      spec.default ? `default: ${spec.default}` : '',
    ].filter(Boolean);
    lines.push(row(name, `${spec.description}${notes.length ? ` (${notes.join('; ')})` : ''}`));
  }
  lines.push(row('-h, --help', 'show this help'));
  return `${lines.join('\n')}\n${command.help}\n`;
}

function groupHelp(group: string, commands: readonly CommandSpec[]): string {
  const examples = commands.flatMap((c) => c.help.split('\n').filter((line) => /^\s+\$ /.test(line)));
  return [
    `Usage: signet ${group} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((c) => row(c.name, c.summary)),
    '',
    'Examples:',
    ...examples,
    '',
    `Run signet ${group} <command> --help for a command's flags.`,
    '',
  ].join('\n');
}

function row(left: string, right: string): string {
  return `  ${left.padEnd(38)} ${right}`;
}

/** The overview `signet --help` prints. */
export function overviewHelp(commands: readonly CommandSpec[], footer: string): string {
  return `Usage: signet <command> [options]\n\nSign and verify software artifacts as standard Sigstore bundles.\n\nCommands:\n${commands
    .map((c) => row(c.name, c.summary))
    .join('\n')}\n${footer}\n`;
}
