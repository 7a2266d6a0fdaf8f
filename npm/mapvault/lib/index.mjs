// ES module entry of `mapvault`: re-exports the CommonJS implementation in ./index.cjs, so
// `import` and `require` share one copy of the module (no dual-package state).
import api from './index.cjs';

export const { seal, verify, unseal, binaryPath, MapvaultError } = api;
export default api;
