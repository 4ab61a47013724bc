// Vite plugin that signs every file of a build as one Sigstore bundle.
export type { SignetPluginOptions } from './options';
export { signet } from './plugin';
