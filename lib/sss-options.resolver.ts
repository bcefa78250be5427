import type { ResolvedSssOptions } from './interfaces/resolved-options.interface.js';
import type { SssModuleOptions } from './interfaces/sss-module-options.interface.js';

/** Fills in the documented defaults of `SssModuleOptions`. */
export function resolveSssOptions(options: SssModuleOptions): ResolvedSssOptions {
  const sessionGuards = options.sessionGuards;
  return {
    path: normalizePath(options.path ?? '/sss'),
    sessionGuards: sessionGuards === undefined ? [] : Array.isArray(sessionGuards) ? sessionGuards : [sessionGuards],
    heartbeatInterval: options.heartbeatInterval ?? 25_000,
    trustProxy: options.trustProxy ?? false,
    allowedOrigins: options.allowedOrigins,
    shutdownTimeout: options.shutdownTimeout ?? 1_000,
    limits: {
      maxFrameBytes: 65_536,
      messagesPerSecond: 100,
      maxSocketsPerAddress: 100,
      maxSubscriptionsPerSocket: 100,
      handlerTimeout: 30_000,
      // Small enough that what a dropped slow consumer loses fits in the default retention (1000
      // messages): 256 KiB is about 400 chat messages of 650 B (see PROTOCOL.md, Slow consumer).
      maxBufferedBytes: 256 * 1024,
      maxChannelLength: 256,
      maxTopicLength: 128,
      ...options.limits,
    },
    retention: { maxMessages: 1_000, maxAgeMs: 86_400_000, ...options.retention },
  };
}

function normalizePath(path: string): string {
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.length > 1 && withSlash.endsWith('/') ? withSlash.slice(0, -1) : withSlash;
}
