import type { ResolvedSssOptions } from './interfaces/resolved-options.interface.js';
import type { SssLimits, SssModuleOptions } from './interfaces/sss-module-options.interface.js';
import { validateSssOptions } from './sss-options.validator.js';

/** Limits that `0` switches off. */
const SWITCHABLE_LIMITS = ['messagesPerSecond', 'maxSocketsPerAddress', 'maxSubscriptionsPerSocket'] as const;

/** Checks `SssModuleOptions` (see `validateSssOptions`) and fills in the documented defaults. */
export function resolveSssOptions(options: SssModuleOptions): ResolvedSssOptions {
  validateSssOptions(options);
  const sessionGuards = options.sessionGuards;
  const limits: Required<SssLimits> = {
    maxFrameBytes: options.limits?.maxFrameBytes ?? 65_536,
    messagesPerSecond: options.limits?.messagesPerSecond ?? 100,
    maxSocketsPerAddress: options.limits?.maxSocketsPerAddress ?? 100,
    maxSubscriptionsPerSocket: options.limits?.maxSubscriptionsPerSocket ?? 100,
    handlerTimeout: options.limits?.handlerTimeout ?? 30_000,
    // Small enough that what a dropped slow consumer loses fits in the default retention (1000
    // messages): 256 KiB is about 400 chat messages of 650 B (see PROTOCOL.md, Slow consumer).
    maxBufferedBytes: options.limits?.maxBufferedBytes ?? 256 * 1024,
    maxChannelLength: options.limits?.maxChannelLength ?? 256,
    maxTopicLength: options.limits?.maxTopicLength ?? 128,
  };
  for (const limit of SWITCHABLE_LIMITS) if (limits[limit] === 0) limits[limit] = Infinity;
  return {
    path: normalizePath(options.path ?? '/sss'),
    sessionGuards: sessionGuards === undefined ? [] : Array.isArray(sessionGuards) ? sessionGuards : [sessionGuards],
    heartbeatInterval: options.heartbeatInterval ?? 25_000,
    trustProxy: options.trustProxy ?? false,
    allowedOrigins: options.allowedOrigins,
    shutdownTimeout: options.shutdownTimeout ?? 1_000,
    limits,
    retention: {
      maxMessages: options.retention?.maxMessages ?? 1_000,
      maxAgeMs: options.retention?.maxAgeMs ?? 86_400_000,
    },
    metrics: resolveMetrics(options.metrics),
    credentials: {
      refreshLeadTime: options.credentials?.refreshLeadTime ?? 30_000,
      expiryGrace: options.credentials?.expiryGrace ?? 5_000,
    },
  };
}

function resolveMetrics(metrics: SssModuleOptions['metrics']): ResolvedSssOptions['metrics'] {
  if (metrics === undefined || metrics === false) return false;
  if (metrics === true) return { prefix: 'sss_' };
  return { registry: metrics.registry, prefix: metrics.prefix ?? 'sss_' };
}

function normalizePath(path: string): string {
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.length > 1 && withSlash.endsWith('/') ? withSlash.slice(0, -1) : withSlash;
}
