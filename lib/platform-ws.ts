export { SssWsAdapter } from './server/sss-ws.adapter.js';
