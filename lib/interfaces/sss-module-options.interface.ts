import type { CanActivate, Type } from '@nestjs/common';
import type { SssMetricsOptions } from '../metrics/sss-metrics-options.interface.js';
import type { Scaler } from '../scaler/scaler.interface.js';

/** A guard given as a class (created with dependency injection) or as an instance. */
export type SssGuard = Type<CanActivate> | CanActivate;

/**
 * Safety limits; every one has a default that is safe for a public endpoint. `undefined` means the
 * default; a negative, fractional or non-number value fails startup naming the limit. `0` switches
 * a limit off where that can make sense, and is refused where it cannot.
 */
export interface SssLimits {
  /** Largest accepted frame in bytes; bigger frames close the socket with 1009. Positive integer; 0 is refused. Default 65536. */
  maxFrameBytes?: number;
  /** Frames a socket may send per second (bursts up to twice that); beyond, requests fail with RATE_LIMITED. 0: no rate limit. Default 100. */
  messagesPerSecond?: number;
  /** Open sockets per client address; beyond, the upgrade gets HTTP 429. 0: no limit. Default 100. */
  maxSocketsPerAddress?: number;
  /** Subscriptions one socket may hold; beyond, TOO_MANY_SUBSCRIPTIONS. 0: no limit. Default 100. */
  maxSubscriptionsPerSocket?: number;
  /** Time an ask/tell/channel handler may take before the client gets TIMEOUT, in ms. 1 to 2147483647; 0 is refused. Default 30000. */
  handlerTimeout?: number;
  /**
   * Bytes queued for a socket beyond which it is dropped as a slow consumer; it recovers on reconnect
   * if what it lost (about this many bytes of messages) is still retained. Positive integer; 0 is
   * refused. Default 262144 (256 KiB).
   */
  maxBufferedBytes?: number;
  /** Longest channel name. Positive integer; 0 is refused. Default 256. */
  maxChannelLength?: number;
  /** Longest ask/tell topic. Positive integer; 0 is refused. Default 128. */
  maxTopicLength?: number;
}

/** How long channel history is kept for recovery. */
export interface SssRetention {
  /** Messages kept per channel. Positive integer; 0 is refused. Default 1000. */
  maxMessages?: number;
  /** Age in ms after which messages are dropped. Positive integer; 0 is refused. Default 86400000 (one day). */
  maxAgeMs?: number;
}

/** How connections whose credential expires (`SssHandshake.expiresAt`) are refreshed. */
export interface SssCredentialOptions {
  /** How long before the expiry the server sends `refresh`, in ms. 0 to 2147483647. Default 30000. */
  refreshLeadTime?: number;
  /** How long after the expiry a socket without a fresh credential stays open, in ms; then it is closed with 4003. 0 to 2147483647. Default 5000. */
  expiryGrace?: number;
}

/**
 * Which proxies may tell the client address through `X-Forwarded-For`, as Express's `trust proxy`:
 * `true` (all), `false` (none), a hop count, addresses or CIDR ranges (also `'loopback'`,
 * `'linklocal'`, `'uniquelocal'`), as an array or a comma-separated string, or a function
 * `(address, hopIndex) => boolean`.
 */
export type SssTrustProxy = boolean | number | string | string[] | ((address: string, hopIndex: number) => boolean);

/** Origins whose pages may open a socket: a list of origins (`'https://example.com'`) or a function. */
export type SssAllowedOrigins = string[] | ((origin: string | undefined) => boolean);

/**
 * Options of `SssModule.forRoot()` / `forRootAsync()`, checked at startup: `undefined` means the
 * default; a value of the wrong type or out of range fails startup with an `SssConfigurationError`
 * that names the option.
 */
export interface SssModuleOptions {
  /** URL path of the WebSocket endpoint on the app's HTTP server. Default '/sss'. */
  path?: string;
  /**
   * Guards run on every HTTP upgrade, before the WebSocket exists: the session parser. They read
   * the request from `SssExecutionContext.create(ctx).getHandshake()` and may set `userId`,
   * `sessionId` and `locals` on it. `false` answers 403; an `HttpException` answers with its status.
   * Default: none (every upgrade is accepted, without user or session).
   */
  sessionGuards?: SssGuard | SssGuard[];
  /** The scaler that orders, stores and fans out messages. Default: the embedded in-memory scaler. */
  scaler?: Scaler;
  /**
   * History kept by the embedded scaler for recovery. Defaults in `SssRetention`. The embedded
   * scaler's only: with `scaler` set, give the retention to that scaler (startup fails otherwise).
   */
  retention?: SssRetention;
  /** Heartbeat interval told to clients, in ms; a socket silent for twice as long is dropped. 1 to 2147483647. Default 25000. */
  heartbeatInterval?: number;
  /** Proxies trusted to give the client address in `X-Forwarded-For`. Default false (the TCP peer is the client). */
  trustProxy?: SssTrustProxy;
  /** Origins allowed to open a socket (checked before the 101). Default: any origin. */
  allowedOrigins?: SssAllowedOrigins;
  /** Time given to sockets to close on shutdown before they are terminated, in ms. 0: terminate at once. Default 1000. */
  shutdownTimeout?: number;
  /** Safety limits. Defaults in `SssLimits`. */
  limits?: SssLimits;
  /**
   * Prometheus metrics (README, Metrics) through `prom-client`, which must then be installed:
   * `true` registers them in prom-client's global `register`, an object chooses the registry and
   * the name prefix. Default false (nothing recorded, prom-client not loaded).
   */
  metrics?: boolean | SssMetricsOptions;
  /** Refresh of expiring credentials on open connections. Defaults in `SssCredentialOptions`. */
  credentials?: SssCredentialOptions;
}
