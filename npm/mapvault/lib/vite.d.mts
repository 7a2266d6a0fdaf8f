// Types of the ES module entry of `mapvault/vite` (./vite.mjs): the CommonJS types re-exported.
import mapvault from './vite.cjs';

export type { MapvaultPluginOptions } from './plugin.cjs';
export { mapvault };
export default mapvault;
