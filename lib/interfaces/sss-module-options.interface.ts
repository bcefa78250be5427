import type { IncomingMessage } from 'node:http';
import type { CanActivate, Type } from '@nestjs/common';
import type { Scaler } from '../scaler/scaler.interface.js';

/** A guard given as a class (created with dependency injection) or as an instance. */
export type SssGuard = Type<CanActivate> | CanActivate;

/**
 * Which proxies in front of the server to trust for `X-Forwarded-For`, as Express's `trust proxy`:
 * - `false`: none; the client address is the TCP peer.
 * - `true`: every hop; the left-most entry is taken. Risky: any client can write that entry.
 * - a number `n`: the `n` hops nearest to the server (the TCP peer is hop 0).
 * - addresses, CIDRs or preset names (`'loopback'`, `'linklocal'`, `'uniquelocal'`), as an array
 *   or a comma-separated string.
 * - a function `(address, hop) => boolean`.
 * The client address is the right-most hop that is not trusted.
 */
export type SssTrustProxy = boolean | number | string | string[] | ((address: string, hop: number) => boolean);

/**
 * The `Origin`s allowed to open a socket (against cross-site WebSocket hijacking with cookie
 * sessions): exact origins such as `'https://chat.example.com'` (requests without an `Origin`,
 * which browsers always send, are allowed), or a function that decides, `origin` being `undefined`
 * when the header is absent.
 */
export type SssAllowedOrigins = string[] | ((origin: string | undefined, request: IncomingMessage) => boolean);

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
  /**
   * Bytes queued for a socket beyond which it is dropped as a slow consumer; it recovers on reconnect
   * if what it lost (about this many bytes of messages) is still retained. Default 262144 (256 KiB).
   */
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
  /** Proxies trusted for X-Forwarded-For (see `SssTrustProxy`). Default false (the TCP peer is the client). */
  trustProxy?: SssTrustProxy;
  /** Origins allowed to upgrade; others get HTTP 403 before the 101 (see `SssAllowedOrigins`). Default: no check. */
  allowedOrigins?: SssAllowedOrigins;
  /** Time given to sockets to close on shutdown before they are terminated, in ms. Default 1000. */
  shutdownTimeout?: number;
  /** Safety limits. Defaults in `SssLimits`. */
  limits?: SssLimits;
}
