import type { SssGuard, SssLimits, SssRetention } from './sss-module-options.interface.js';

/** The module options with every default filled in. */
export interface ResolvedSssOptions {
  path: string;
  sessionGuards: SssGuard[];
  heartbeatInterval: number;
  trustProxy: boolean;
  shutdownTimeout: number;
  limits: Required<SssLimits>;
  retention: Required<SssRetention>;
}
