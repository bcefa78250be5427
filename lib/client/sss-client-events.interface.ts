import type { RecoveryFailure } from '../protocol/frames.js';
import type { SssClientError } from './sss-client.error.js';

/** Where the client is in its life: `idle` before `connect()`, `closed` after `close()`, a boot or a final failure. */
export type SssClientStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What the server's `hello` said about this connection. */
export interface SssHelloInfo {
  /** The server's id for this socket; new on every connection. */
  socketId: string;
  /** The authenticated user, if any. */
  userId?: string;
  /** The session, if any. */
  sessionId?: string;
  /** The server's heartbeat interval in ms. */
  heartbeat: number;
}

/** Payload of `drop`: an open connection was lost. */
export interface SssDropEvent {
  /** The WebSocket close code (1006 when the client gave up on a silent connection). */
  code: number;
  /** The close reason, possibly empty. */
  reason: string;
}

/**
 * How one subscription came back after a reconnect (its first result):
 * - `{ recovered: true }`: every missed message follows, in order;
 * - `{ recovered: false, reason }`: resubscribed, but messages were lost (reload the channel's state);
 * - `{ recovered: false, retrying: true, error }`: a temporary error (`UNAVAILABLE`, `TIMEOUT`,
 *   `RATE_LIMITED`, `INTERNAL_ERROR`); the subscription stays open and retries with backoff, and its
 *   `resubscribed` event reports the later success;
 * - `{ recovered: false, error }`: refused for good; the subscription is closed (`resubscribe_denied`).
 */
export interface SssResubscriptionResult {
  /** The channel. */
  channel: string;
  /** Whether every missed message follows. */
  recovered: boolean;
  /** Why not, when the server resubscribed without recovery. */
  reason?: RecoveryFailure;
  /** True while a temporary failure is being retried; the subscription is still open. */
  retrying?: boolean;
  /** The failure: temporary with `retrying`, else the refusal that closed the subscription. */
  error?: SssClientError;
}

/**
 * Payload of `reconnect`: emitted after every reconnect, once every subscription has a first result
 * (never waiting on a retry). Subscriptions that ended before their first result (`unsubscribe()`,
 * a channel boot) are left out.
 */
export interface SssReconnectEvent {
  /** Whether every reported subscription recovered every missed message (true when none is reported). */
  recovered: boolean;
  /** One entry per subscription that was live at the drop and still is, in subscription order. */
  subscriptions: SssResubscriptionResult[];
}

/** Payload of `boot`: the server closed the socket with 4001; the client does not reconnect. */
export interface SssBootEvent {
  /** The close reason given by the server. */
  reason: string;
}

/** The client's events and their listener arguments. */
export type SssClientEvents = {
  /** Every successful handshake (the first and each reconnect). */
  connect: [info: SssHelloInfo];
  /** An open connection was lost (also before `boot`); not emitted for `close()`. */
  drop: [event: SssDropEvent];
  /**
   * After every reconnect, once each subscription has a first result: recovered, resubscribed
   * without recovery, retrying a temporary error, or refused (see `SssResubscriptionResult`).
   */
  reconnect: [event: SssReconnectEvent];
  /** The server booted this client. */
  boot: [event: SssBootEvent];
  /**
   * Errors that belong to no request: server `err` without id, sequence gaps (for visibility: the
   * subscription re-subscribes by itself), listener errors, failed reconnects.
   */
  error: [error: SssClientError];
  /** The status changed. */
  status: [status: SssClientStatus];
};

/** What a channel message listener receives besides the data. */
export interface SssMessageMeta {
  /** The channel the message was published on. */
  channel: string;
  /** The message topic. */
  topic: string;
  /** Its sequence number within the epoch. */
  seq: number;
  /** The channel history it belongs to. */
  epoch: string;
}

/** Payload of a subscription's `resubscribed` event (after a reconnect, a retry, or a sequence gap). */
export interface SssResubscribedEvent {
  /** Whether every missed message follows; if not, reload the channel's state. */
  recovered: boolean;
  /** Why recovery failed. */
  reason?: RecoveryFailure;
}

/** Payload of a subscription's `closed` event. */
export interface SssSubscriptionClosedEvent {
  /**
   * Why: the server's `unsubbed` reason, `'unsubscribed'`, `'resubscribe_denied'`, `'client_closed'`,
   * `'booted'`, `'unsupported_version'`, `'connection_lost'` (reconnection disabled) or `'replaced'` (subscribed again).
   */
  reason: string;
  /** The error, when a re-subscription was refused or the client failed. */
  error?: SssClientError;
}

/**
 * Payload of a subscription's `join` and `leave` events (presence-tracked channels): a user's
 * first connection joined the channel, or its last one left (or its server instance died).
 */
export interface SssPresenceChange {
  userId: string;
  /** The fields the server's session guard chose to expose (`handshake.presence`). */
  info?: Record<string, unknown>;
}

/** A subscription's lifecycle events and their listener arguments. */
export type SssSubscriptionEvents = {
  /**
   * The subscription is back on the server: after a reconnect, after a retry of a temporary error, or
   * after a sequence gap (re-subscribed from the last good position).
   */
  resubscribed: [event: SssResubscribedEvent];
  /** The subscription ended; it receives nothing more. */
  closed: [event: SssSubscriptionClosedEvent];
  /**
   * A user joined the channel (presence-tracked channels only). Unsequenced: after `resubscribed`,
   * read `presence()` again for what changed while disconnected.
   */
  join: [member: SssPresenceChange];
  /** A user left the channel (presence-tracked channels only). */
  leave: [member: SssPresenceChange];
};
