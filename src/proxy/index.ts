/** The vault-key proxy, for the CLI, tests, the demo and other engineers. */
export { startProxy, type ProxyOptions, type RunningProxy, type ConfiguredUpstreamKey } from './server.js';
export { openStore, registerStoreFactory } from './store/open.js';
export type * from './store/types.js';
export { buildVendorTable } from './vendors.js';
export { jsonLog, silentLog, type RequestLog } from './log.js';
