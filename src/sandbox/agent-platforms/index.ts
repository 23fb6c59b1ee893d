export { startAccountsFake, type AccountsFake, type FakeAccount } from './accounts.js';
export { startAgentsApiFake, type AgentsApiFake, type FakeOAuthAgent } from './agents-api.js';
export { startFakeServer, type FakeServer, type Route, type Reply, type Recorded } from './server.js';
