// ES module entry of `mapvault/rollup`: the CommonJS implementation in ./rollup.cjs, re-exported so both
// module systems share one copy.
import mapvault from './rollup.cjs';

export { mapvault };
export default mapvault;
