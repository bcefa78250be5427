import type { ChannelPosition, PresenceMember, RecoveryFailure } from '../protocol/frames.js';

/** A message on a channel, with its place in the channel's total order. */
export interface ScalerMessage {
  channel: string;
  topic: string;
  data: unknown;
  /** Gapless within `epoch`, starting at 1. */
  seq: number;
  epoch: string;
  /** A socket that must not receive it live (`socket.publish()` skips its sender). */
  exceptSocketId?: string;
  /**
   * A seq that was taken but holds no message (its publisher failed or crashed before storing it),
   * closed so that the order goes on. Subscribers get a `skip` frame for it.
   */
  placeholder?: true;
}

/** Whom an unsequenced signal is for. */
export type SignalTarget = { type: 'all' } | { type: 'user' | 'session' | 'socket' | 'channel'; id: string };

/** An unsequenced, unstored instruction to every instance: tell sockets something, or boot them. */
export type ScalerSignal =
  | { kind: 'tell'; target: SignalTarget; topic: string; data: unknown }
  | { kind: 'boot'; target: SignalTarget; reason: string };

/** One connection on a presence-tracked channel. */
export interface PresenceConnection {
  /** Unique across all instances (an instance id + socket id, for example). */
  connectionId: string;
  userId: string;
  /** The fields the session guard chose to expose (handshake `presence`), JSON-encodable. */
  info?: Record<string, unknown>;
}

/**
 * One user on a channel, counted once however many connections it has there: `{ userId,
 * connections, info? }`, `info` being one of its connections' (defined with the wire frames).
 */
export type { PresenceMember };

/** A user's first connection joined a channel, or its last one left (or expired with its instance). */
export interface PresenceEvent {
  channel: string;
  kind: 'join' | 'leave';
  userId: string;
  info?: Record<string, unknown>;
}

/**
 * Who is on which presence-tracked channel, across every instance. Join and leave events fire on a
 * user's 0→1 and 1→0 connection count per channel, across all instances, and reach every instance
 * subscribed to the channel (`ScalerListener.onPresence`). Entries of an instance that dies
 * disappear within a time each scaler documents, with leave events.
 */
export interface ScalerPresence {
  /** Records a connection on a channel; resolves once every instance can see it. */
  join(channel: string, connection: PresenceConnection): Promise<void>;
  /** Removes a connection; unknown ids are ignored. */
  leave(channel: string, connectionId: string): Promise<void>;
  /** Every member of the channel, across every live instance. */
  members(channel: string): Promise<PresenceMember[]>;
  /**
   * Optional: `members` as the JSON of the array, for a scaler that has it as such (the Redis ones
   * build it in Redis); answers to clients then skip a parse and a stringify.
   */
  membersJson?(channel: string): Promise<string>;
}

/**
 * Data of one session, shared by every instance that serves one of its sockets. Values are stored
 * as JSON (a copy, never the object given). Each key expires on its own, `ttlMs` after its last
 * `set`. Stores bound a value's JSON size and the number of keys per session and reject what
 * exceeds them with `SessionDataError`.
 */
export interface ScalerSessionStore {
  /** The value, or undefined when the key is not set or expired. */
  get(sessionId: string, key: string): Promise<unknown>;
  /** `ttlMs` (default: the store's documented default) renews on every set. */
  set(sessionId: string, key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(sessionId: string, key: string): Promise<void>;
}

/** What an instance gets from its scaler. */
export interface ScalerListener {
  /** A message on a channel this instance subscribed to, in seq order per channel. */
  onMessage(message: ScalerMessage): void;
  /** A signal for every instance. */
  onSignal(signal: ScalerSignal): void;
  /** A join or leave on a presence-tracked channel this instance subscribed to (unsequenced). */
  onPresence(event: PresenceEvent): void;
}

/** The missed messages of a channel since a position, or why they cannot all be delivered. */
export type HistorySince =
  | { recovered: true; epoch: string; messages: ScalerMessage[] }
  | { recovered: false; reason: RecoveryFailure; position: ChannelPosition };

/** Options of one publish. */
export interface ScalerPublishOptions {
  /** A socket id that must not receive the message live. */
  exceptSocketId?: string;
}

/**
 * What connects instances. A scaler gives every channel one total order (a gapless `seq` within
 * an `epoch`), keeps enough history for recovery, and fans messages out to the instances that
 * subscribed to the channel. The embedded `MemoryScaler` does this inside one process.
 */
export interface Scaler {
  /** Starts delivering to `listener`. Called once, before anything else. */
  connect(listener: ScalerListener): Promise<void>;
  /** Orders, stores and fans out a message; resolves with its position once it is stored. */
  publish(channel: string, topic: string, data: unknown, options?: ScalerPublishOptions): Promise<ChannelPosition>;
  /** Sends an unsequenced signal to every instance (this one included). */
  signal(signal: ScalerSignal): Promise<void>;
  /** This instance wants the channel's messages; resolves once they flow. */
  subscribe(channel: string): Promise<void>;
  /** This instance no longer wants the channel's messages. */
  unsubscribe(channel: string): Promise<void>;
  /** The channel's current position. */
  position(channel: string): Promise<ChannelPosition>;
  /** Every stored message after `since`, in order, or why that is impossible. */
  historySince(channel: string, since: ChannelPosition): Promise<HistorySince>;
  /** Releases what the scaler opened (never what it was given). */
  close(): Promise<void>;
  /** Who is on presence-tracked channels (the hub joins and leaves only for such channels). */
  readonly presence: ScalerPresence;
  /** Session data shared by every instance. */
  readonly sessions: ScalerSessionStore;
}
