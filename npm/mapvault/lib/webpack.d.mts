// Types of the ES module entry of `mapvault/webpack` (./webpack.mjs): the CommonJS types re-exported.
import mapvault from './webpack.cjs';

export type { MapvaultPluginOptions } from './plugin.cjs';
export { mapvault };
export default mapvault;
