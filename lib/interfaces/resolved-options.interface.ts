import type {
  SssAllowedOrigins,
  SssGuard,
  SssLimits,
  SssRetention,
  SssTrustProxy,
} from './sss-module-options.interface.js';

/** The module options with every default filled in. */
export interface ResolvedSssOptions {
  path: string;
  sessionGuards: SssGuard[];
  heartbeatInterval: number;
  trustProxy: SssTrustProxy;
  /** `undefined`: no Origin check. */
  allowedOrigins?: SssAllowedOrigins;
  shutdownTimeout: number;
  limits: Required<SssLimits>;
  retention: Required<SssRetention>;
}
