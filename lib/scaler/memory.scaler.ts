import { randomUUID } from 'node:crypto';
import type { ChannelPosition } from '../protocol/frames.js';
import type { SssRetention } from '../interfaces/sss-module-options.interface.js';
import { PresenceBook } from './presence/presence-book.js';
import { MemorySessionStore } from './session/memory-session.store.js';
import type {
  HistorySince,
  PresenceConnection,
  PresenceMember,
  Scaler,
  ScalerListener,
  ScalerMessage,
  ScalerPresence,
  ScalerPublishOptions,
  ScalerSignal,
} from './scaler.interface.js';

interface StoredMessage {
  message: ScalerMessage;
  storedAt: number;
}

interface ChannelLog {
  /** New whenever the log is created again after being forgotten: its order starts over. */
  epoch: string;
  seq: number;
  /** Retained messages, oldest first; `seq`s are consecutive. */
  messages: StoredMessage[];
}

/**
 * The embedded default: one process, history in memory. Every channel's epoch is new at every
 * start, so a client that recovers across a restart is told `epoch_changed` instead of being given
 * a wrong history. A channel with no retained message and no subscriber is forgotten (memory stays
 * bounded by what retention keeps); if it is used again, it starts a new epoch. Presence and session
 * data live in the same memory (they end with the process, as its sockets do).
 */
export class MemoryScaler implements Scaler {
  private readonly logs = new Map<string, ChannelLog>();
  private readonly subscribed = new Set<string>();
  private listener?: ScalerListener;
  private sweepTimer?: NodeJS.Timeout;
  private readonly book = new PresenceBook((event) => {
    if (this.subscribed.has(event.channel)) this.listener?.onPresence(event);
  });
  readonly presence: ScalerPresence = {
    join: async (channel: string, connection: PresenceConnection): Promise<void> => this.book.join(channel, connection),
    leave: async (channel: string, connectionId: string): Promise<void> => this.book.leave(channel, connectionId),
    members: async (channel: string): Promise<PresenceMember[]> => this.book.members(channel),
  };
  readonly sessions = new MemorySessionStore();

  constructor(private readonly retention: Required<SssRetention>) {}

  async connect(listener: ScalerListener): Promise<void> {
    this.listener = listener;
    this.sessions.start();
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(1_000, Math.min(this.retention.maxAgeMs / 10, 60_000)));
    this.sweepTimer.unref();
  }

  async publish(
    channel: string,
    topic: string,
    data: unknown,
    options?: ScalerPublishOptions,
  ): Promise<ChannelPosition> {
    const log = this.logOf(channel);
    const message: ScalerMessage = { channel, topic, data, seq: log.seq + 1, epoch: log.epoch };
    if (options?.exceptSocketId) message.exceptSocketId = options.exceptSocketId;
    log.seq = message.seq;
    log.messages.push({ message, storedAt: Date.now() });
    this.trim(log);
    if (this.subscribed.has(channel)) this.listener?.onMessage(message);
    return { epoch: log.epoch, seq: message.seq };
  }

  async signal(signal: ScalerSignal): Promise<void> {
    this.listener?.onSignal(signal);
  }

  async subscribe(channel: string): Promise<void> {
    this.subscribed.add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.subscribed.delete(channel);
  }

  async position(channel: string): Promise<ChannelPosition> {
    const log = this.logOf(channel);
    return { epoch: log.epoch, seq: log.seq };
  }

  async historySince(channel: string, since: ChannelPosition): Promise<HistorySince> {
    const log = this.logOf(channel);
    const position = { epoch: log.epoch, seq: log.seq };
    if (since.epoch !== log.epoch) return { recovered: false, reason: 'epoch_changed', position };
    if (since.seq > position.seq || since.seq < 0) return { recovered: false, reason: 'invalid_position', position };
    if (since.seq === log.seq) return { recovered: true, epoch: log.epoch, messages: [] };
    this.trim(log);
    const oldest = log.messages[0]?.message.seq ?? log.seq + 1;
    if (since.seq + 1 < oldest) return { recovered: false, reason: 'out_of_retention', position };
    const messages = log.messages.slice(since.seq + 1 - oldest).map((stored) => stored.message);
    return { recovered: true, epoch: log.epoch, messages };
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.logs.clear();
    this.subscribed.clear();
    this.book.clear();
    this.sessions.close();
    this.listener = undefined;
  }

  /** Applies the age limit everywhere and forgets channels with nothing left and nobody listening. */
  private sweep(): void {
    for (const [channel, log] of this.logs) {
      this.trim(log);
      if (log.messages.length === 0 && !this.subscribed.has(channel)) this.logs.delete(channel);
    }
  }

  private logOf(channel: string): ChannelLog {
    let log = this.logs.get(channel);
    if (!log) {
      log = { epoch: randomUUID(), seq: 0, messages: [] };
      this.logs.set(channel, log);
    }
    return log;
  }

  private trim(log: ChannelLog): void {
    const { maxMessages, maxAgeMs } = this.retention;
    const excess = log.messages.length - maxMessages;
    if (excess > 0) log.messages.splice(0, excess);
    const oldestKept = Date.now() - maxAgeMs;
    let expired = 0;
    while (expired < log.messages.length && log.messages[expired].storedAt < oldestKept) expired++;
    if (expired > 0) log.messages.splice(0, expired);
  }
}
