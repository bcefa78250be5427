import type { CanActivate, Type } from '@nestjs/common';
import type { Scaler } from '../scaler/scaler.interface.js';

/** A guard given as a class (created with dependency injection) or as an instance. */
export type SssGuard = Type<CanActivate> | CanActivate;

/** Safety limits; every one has a default that is safe for a public endpoint. */
export interface SssLimits {
  /** Largest accepted frame in bytes; bigger frames close the socket with 1009. Default 65536. */
  maxFrameBytes?: number;
  /** Frames a socket may send per second (bursts up to twice that); beyond, requests fail with RATE_LIMITED. Default 100. */
  messagesPerSecond?: number;
  /** Open sockets per client address; beyond, the upgrade gets HTTP 429. 0 disables the limit. Default 100. */
  maxSocketsPerAddress?: number;
  /** Subscriptions one socket may hold. Default 100. */
  maxSubscriptionsPerSocket?: number;
  /** Time an ask/tell/channel handler may take before the client gets TIMEOUT, in ms. Default 30000. */
  handlerTimeout?: number;
  /** Bytes queued for a socket beyond which it is dropped as a slow consumer (it recovers on reconnect). Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Longest channel name. Default 256. */
  maxChannelLength?: number;
  /** Longest ask/tell topic. Default 128. */
  maxTopicLength?: number;
}

/** How long channel history is kept for recovery. */
export interface SssRetention {
  /** Messages kept per channel. Default 1000. */
  maxMessages?: number;
  /** Age in ms after which messages are dropped. Default 86400000 (one day). */
  maxAgeMs?: number;
}

/** Options of `SssModule.forRoot()` / `forRootAsync()`. */
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
  /** History kept by the embedded scaler for recovery. Defaults in `SssRetention`. */
  retention?: SssRetention;
  /** Heartbeat interval told to clients, in ms; a socket silent for twice as long is dropped. Default 25000. */
  heartbeatInterval?: number;
  /** Take the client address from the first X-Forwarded-For entry (behind a trusted proxy). Default false. */
  trustProxy?: boolean;
  /** Time given to sockets to close on shutdown before they are terminated, in ms. Default 1000. */
  shutdownTimeout?: number;
  /** Safety limits. Defaults in `SssLimits`. */
  limits?: SssLimits;
}
