import type { ChannelPosition, RecoveryFailure } from '../protocol/frames.js';
import type { ScalerHealth, ScalerMetrics } from './scaler-metrics.interface.js';

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
  /**
   * When it was published (ms since epoch, the publishing instance's clock), for the fan-out lag
   * metric; set only by a scaler whose metrics are on.
   */
  publishedAt?: number;
}

/** Whom an unsequenced signal is for. */
export type SignalTarget = { type: 'all' } | { type: 'user' | 'session' | 'socket' | 'channel'; id: string };

/** An unsequenced, unstored instruction to every instance: tell sockets something, or boot them. */
export type ScalerSignal =
  | { kind: 'tell'; target: SignalTarget; topic: string; data: unknown }
  | { kind: 'boot'; target: SignalTarget; reason: string };

/** What an instance gets from its scaler. */
export interface ScalerListener {
  /** A message on a channel this instance subscribed to, in seq order per channel. */
  onMessage(message: ScalerMessage): void;
  /** A signal for every instance. */
  onSignal(signal: ScalerSignal): void;
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
  /** Optional: where to report its metrics; called once, before `connect()`. */
  useMetrics?(metrics: ScalerMetrics): void;
  /** Optional: whether the services it depends on answer (for health checks); never rejects. */
  checkHealth?(): Promise<ScalerHealth>;
}
