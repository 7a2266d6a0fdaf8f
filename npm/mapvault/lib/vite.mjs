// ES module entry of `mapvault/vite`: the CommonJS implementation in ./vite.cjs, re-exported so both
// module systems share one copy.
import mapvault from './vite.cjs';

export { mapvault };
export default mapvault;
