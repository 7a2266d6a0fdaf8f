// Types of the ES module entry of `mapvault/rollup` (./rollup.mjs): the CommonJS types re-exported.
import mapvault from './rollup.cjs';

export type { MapvaultPluginOptions } from './plugin.cjs';
export { mapvault };
export default mapvault;
