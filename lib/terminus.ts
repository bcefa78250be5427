export { SssHealthIndicator } from './health/sss-health.indicator.js';
