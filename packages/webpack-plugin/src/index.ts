// webpack plugin that signs every emitted file of a build as one Sigstore bundle.
import { SignetWebpackPlugin } from './plugin';

export type { SignetWebpackPluginOptions } from './options';
export { SignetWebpackPlugin };
export default SignetWebpackPlugin;
