export { type CommandSpec, parseCommandLine } from './command-line';
export { COMMANDS } from './commands';
export { main, run } from './main';
export { EXIT, exitCodeFor } from './output';
