// Types of the ES module entry (./index.mjs): the same API as the CommonJS one.
export * from './index.cjs';
import * as api from './index.cjs';
export default api;
