import type {
  SssAllowedOrigins,
  SssCredentialOptions,
  SssGuard,
  SssLimits,
  SssRetention,
  SssTrustProxy,
} from './sss-module-options.interface.js';
import type { SssMetricsRegistry } from '../metrics/sss-metrics-options.interface.js';

/**
 * The module options, checked, with every default filled in. A limit switched off (`0` in the
 * options) is `Infinity` here, so that no count ever reaches it.
 */
export interface ResolvedSssOptions {
  path: string;
  sessionGuards: SssGuard[];
  heartbeatInterval: number;
  trustProxy: SssTrustProxy;
  /** `undefined`: any origin. */
  allowedOrigins?: SssAllowedOrigins;
  shutdownTimeout: number;
  limits: Required<SssLimits>;
  retention: Required<SssRetention>;
  /** `false`: metrics off. `registry` undefined: prom-client's global `register`. */
  metrics: false | { registry?: SssMetricsRegistry; prefix: string };
  credentials: Required<SssCredentialOptions>;
}
