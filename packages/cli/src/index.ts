export { createProgram, main, run } from './main';
export { EXIT, exitCodeFor } from './output';
