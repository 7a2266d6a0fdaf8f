// ES module entry of `mapvault/webpack`: the CommonJS implementation in ./webpack.cjs, re-exported so both
// module systems share one copy.
import mapvault from './webpack.cjs';

export { mapvault };
export default mapvault;
