// Vite is ESM only and this package CommonJS: Vite's types are imported in ESM resolution
// mode (types only; nothing of Vite is loaded at run time).
export type Plugin = import('vite', { with: { 'resolution-mode': 'import' }}).Plugin;
export type ResolvedConfig = import('vite', { with: { 'resolution-mode': 'import' }}).ResolvedConfig;
export type PluginContext = import('vite', { with: { 'resolution-mode': 'import' }}).Rollup.PluginContext;
