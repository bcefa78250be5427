import type { BackoffOptions, ReconnectOptions } from './reconnect-backoff.js';
import type { ResubscribeOptions } from './resubscriber.js';

/** The part of the WHATWG `WebSocket` the client uses; both browsers and `ws` provide it. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Called once the connection is open. */
  onopen: ((event: unknown) => void) | null;
  /** Called with each message; text frames carry a string. */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Called once when the connection closed, with the close code and reason. */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Called on a failure; a close event follows. */
  onerror: ((event: unknown) => void) | null;
  /** Sends one text message. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the connection without a closing handshake. */
  terminate?: () => void;
}

/** A `WebSocket` constructor: the browser's, Node's, `ws`, or a test double. */
export type WebSocketConstructor = new (
  url: string,
  protocolsOrOptions?: string | string[] | { headers: Record<string, string> },
) => WebSocketLike;

/** Options of `SssClient`. */
export interface SssClientOptions {
  /**
   * The WebSocket implementation. Default: in Node, `ws` (loaded on demand) when it can be imported,
   * else the global `WebSocket` (Node 22+), which cannot tell a refused upgrade (401/403/429) from a
   * network failure; in browsers, the global `WebSocket`.
   */
  WebSocket?: WebSocketConstructor;
  /**
   * HTTP headers for the upgrade request (for example a `Cookie`), given to the constructor as
   * `{ headers }`. Node only, and they need `ws` (or a `WebSocket` option that takes them). Default: none; ignored in browsers.
   */
  headers?: Record<string, string>;
  /** Timeout of `ask`, `tell`, `subscribe` and `unsubscribe` in ms, queued time included. Default: 10_000. */
  askTimeout?: number;
  /** Timeout of each connection attempt (socket open plus the server's `hello`) in ms. Default: 10_000. */
  connectTimeout?: number;
  /**
   * Automatic reconnection after a drop; `false` disables it. The first attempt after a drop or a
   * 1001 waits a random time spread over `spreadWindow` (at most `maxDelay`); later failed attempts back off exponentially.
   * Default: `{ spreadWindow: 1000, initialDelay: 250, maxDelay: 10_000, factor: 2 }` (missing fields take these values).
   */
  reconnect?: Partial<ReconnectOptions> | false;
  /**
   * Re-subscriptions (after a reconnect or a sequence gap): the timeout of each request, and the
   * per-subscription jittered backoff between retries after a temporary error (`UNAVAILABLE`,
   * `TIMEOUT`, `RATE_LIMITED`, `INTERNAL_ERROR`).
   * Default: `{ timeout: 10_000, initialDelay: 500, maxDelay: 10_000, factor: 2 }` (missing fields take these values).
   */
  resubscribe?: Partial<ResubscribeOptions>;
  /** Heartbeat interval in ms, overriding the server's `hello.heartbeat` (for tests). Default: the server's value. */
  heartbeatInterval?: number;
  /** Extra silence in ms, beyond twice the heartbeat, before the connection counts as dead. Default: 1000. */
  heartbeatGrace?: number;
  /**
   * Gives a fresh credential (for example a JWT from your auth endpoint) when the server asks for one
   * before the connection's credential expires; the client sends it in-band and the server re-runs its
   * session guards. A throw, a rejection or a non-string is reported as `REFRESH_FAILED` on `error` and
   * retried with backoff (`refresh`) until the server closes the socket (4003). Without it, the server
   * closes an expiring connection at its expiry plus a grace period. Default: none.
   */
  getToken?: () => string | Promise<string>;
  /**
   * With `getToken`: the URL query parameter (for example `'token'`) that carries a fresh credential
   * on every connection attempt, the first and each reconnect, so that a reconnect does not present a
   * credential that expired meanwhile (browsers cannot set headers on a WebSocket). `getToken()` is
   * called before each attempt; a failure fails the attempt (`CONNECT_FAILED`; reconnects retry with
   * backoff). Keep such tokens short-lived: URLs may appear in access logs. Default: none (the URL is used as given).
   */
  tokenParam?: string;
  /**
   * Backoff between failed refresh attempts (jittered, per refresh request).
   * Default: `{ initialDelay: 500, maxDelay: 10_000, factor: 2 }` (missing fields take these values).
   */
  refresh?: Partial<BackoffOptions>;
}
