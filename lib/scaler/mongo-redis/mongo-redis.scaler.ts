import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import type { ChannelPosition } from '../../protocol/frames.js';
import type {
  HistorySince,
  Scaler,
  ScalerListener,
  ScalerMessage,
  ScalerPublishOptions,
  ScalerSignal,
} from '../scaler.interface.js';
import { ChannelStream } from './channel-stream.js';
import { MessageStore } from './message.store.js';
import { RedisSequencer } from './redis.sequencer.js';
import { SssMessages } from '../../sss.messages.js';
import type { MongoRedisScalerOptions } from './mongo-redis-scaler-options.interface.js';

/** The JSON published on a channel's Redis channel. */
interface WireMessage {
  c: string;
  t: string;
  d?: unknown;
  s: number;
  e: string;
  x?: string;
}

/** The fields of a message that do not depend on its place in the order. */
function toWire(channel: string, topic: string, data: unknown, exceptSocketId?: string): Omit<WireMessage, 's' | 'e'> {
  const wire: Omit<WireMessage, 's' | 'e'> = { c: channel, t: topic };
  if (data !== undefined) wire.d = data;
  if (exceptSocketId !== undefined) wire.x = exceptSocketId;
  return wire;
}

const GAP_FILL_BATCH = 1000;
/** How long close() waits for fan-outs still on their way to Redis. */
const FAN_OUT_FLUSH_TIMEOUT_MS = 2_000;

/**
 * Many instances, one order per channel: MongoDB stores every message and gives it its seq (see
 * `MessageStore`); Redis carries it to the instances that have subscribers, one Redis subscription
 * per channel per instance. A publish resolves once stored. Each instance delivers a channel's
 * messages in seq order, reads what Redis lost (an outage, a crashed publisher) back from MongoDB,
 * and re-reads every channel after its Redis connection comes back.
 *
 * @example
 * ```ts
 * SssModule.forRootAsync({
 *   inject: [getConnectionToken(), ConfigService],
 *   useFactory: (connection: Connection, config: ConfigService) => ({
 *     scaler: new MongoRedisScaler({ redis: config.get('REDIS_URL'), mongo: connection }),
 *   }),
 * });
 * ```
 */
export class MongoRedisScaler implements Scaler {
  private readonly logger = new Logger('MongoRedisScaler');
  private readonly prefix: string;
  private readonly streams = new Map<string, ChannelStream>();
  /** Fan-outs handed to Redis and not yet acknowledged. */
  private readonly fanOuts = new Set<Promise<void>>();
  private readonly gapFillDelay: number;
  private readonly ownsMongo: boolean;
  private readonly ownsRedis: boolean;
  private mongo?: Connection;
  private store?: MessageStore;
  private sequencer?: RedisSequencer;
  private publisher?: Redis;
  private subscriber?: Redis;
  private listener?: ScalerListener;
  private trimTimer?: NodeJS.Timeout;
  private subscriberWasReady = false;

  constructor(private readonly options: MongoRedisScalerOptions) {
    this.prefix = options.prefix ?? 'sss';
    this.gapFillDelay = options.gapFillDelay ?? 100;
    this.ownsMongo = typeof options.mongo === 'string';
    this.ownsRedis = typeof options.redis === 'string';
  }

  async connect(listener: ScalerListener): Promise<void> {
    this.listener = listener;
    const { mongo, redis } = this.options;
    const retention = { maxMessages: 1_000, maxAgeMs: 86_400_000, ...this.options.retention };
    if (this.options.history !== false) {
      if (mongo === undefined) throw new Error(SssMessages.mongoRequired);
      this.mongo =
        typeof mongo === 'string'
          ? await mongoose
              .createConnection(mongo, { serverSelectionTimeoutMS: 5_000, ...this.options.mongoOptions })
              .asPromise()
          : mongo;
      this.store = new MessageStore(this.mongo, this.prefix, retention, this.options.maxBatchSize ?? 500);
      await this.store.createIndexes();
    }
    const redisOptions = { enableAutoPipelining: true, ...this.options.redisOptions };
    this.publisher = typeof redis === 'string' ? new Redis(redis, redisOptions) : redis.duplicate();
    if (!this.store) this.sequencer = new RedisSequencer(this.publisher, this.prefix);
    this.subscriber = this.publisher.duplicate();
    this.subscriber.on('message', (redisChannel: string, payload: string) =>
      this.onRedisMessage(redisChannel, payload),
    );
    this.subscriber.on('ready', () => this.onSubscriberReady());
    this.publisher.on('error', (error: Error) => this.logger.warn(`Redis: ${error.message}`));
    this.subscriber.on('error', (error: Error) => this.logger.warn(`Redis subscriber: ${error.message}`));
    await this.subscriber.subscribe(this.signalChannel);
    if (!this.store) return;
    this.trimTimer = setInterval(
      () => void this.store?.trimByAge().catch((error: Error) => this.logger.warn(`trim: ${error.message}`)),
      Math.min(retention.maxAgeMs / 10, 60_000),
    );
    this.trimTimer.unref();
  }

  publish(channel: string, topic: string, data: unknown, options?: ScalerPublishOptions): Promise<ChannelPosition> {
    if (this.sequencer) {
      const rest = JSON.stringify(toWire(channel, topic, data, options?.exceptSocketId)).slice(1);
      return this.sequencer.publish(channel, this.redisChannelOf(channel), rest);
    }
    return new Promise((resolve, reject) => {
      this.requireStore().write(channel, {
        topic,
        data,
        exceptSocketId: options?.exceptSocketId,
        resolve: (message) => {
          resolve({ epoch: message.epoch, seq: message.seq });
          this.fanOut(message);
        },
        reject,
      });
    });
  }

  async signal(signal: ScalerSignal): Promise<void> {
    await this.requirePublisher().publish(this.signalChannel, JSON.stringify(signal));
  }

  async subscribe(channel: string): Promise<void> {
    const stream = new ChannelStream(channel);
    this.streams.set(channel, stream);
    let position: ChannelPosition;
    try {
      await this.requireSubscriber().subscribe(this.redisChannelOf(channel));
      // Where the stream starts is read only once Redis delivers: nothing can fall between the two.
      position = await this.position(channel);
    } catch (error) {
      // Leave nothing half-subscribed: the next subscriber of the channel starts over.
      if (this.streams.get(channel) === stream) await this.unsubscribe(channel).catch(() => undefined);
      throw error;
    }
    if (this.streams.get(channel) !== stream) return;
    stream.epoch = position.epoch;
    stream.lastSeq = position.seq;
    const early = stream.early ?? [];
    stream.early = null;
    for (const message of early) this.accept(stream, message);
  }

  async unsubscribe(channel: string): Promise<void> {
    const stream = this.streams.get(channel);
    if (!stream) return;
    this.streams.delete(channel);
    clearTimeout(stream.gapTimer);
    await this.requireSubscriber().unsubscribe(this.redisChannelOf(channel));
  }

  position(channel: string): Promise<ChannelPosition> {
    return this.sequencer ? this.sequencer.position(channel) : this.requireStore().position(channel);
  }

  async historySince(channel: string, since: ChannelPosition): Promise<HistorySince> {
    if (!this.sequencer) return this.requireStore().historySince(channel, since);
    // Nothing is stored: only a client that missed nothing recovers.
    const position = await this.sequencer.position(channel);
    if (since.epoch !== position.epoch) return { recovered: false, reason: 'epoch_changed', position };
    if (since.seq > position.seq) return { recovered: false, reason: 'invalid_position', position };
    if (since.seq < position.seq) return { recovered: false, reason: 'out_of_retention', position };
    return { recovered: true, epoch: position.epoch, messages: [] };
  }

  async close(): Promise<void> {
    clearInterval(this.trimTimer);
    for (const stream of this.streams.values()) clearTimeout(stream.gapTimer);
    this.streams.clear();
    const flushed = Promise.allSettled([...this.fanOuts]);
    await Promise.race([flushed, new Promise((resolve) => setTimeout(resolve, FAN_OUT_FLUSH_TIMEOUT_MS).unref())]);
    await Promise.allSettled([this.subscriber?.quit(), this.publisher?.quit()]);
    if (this.ownsMongo) await this.mongo?.close();
    this.listener = undefined;
  }

  private get signalChannel(): string {
    return `${this.prefix}:signals`;
  }

  private redisChannelOf(channel: string): string {
    return `${this.prefix}:ch:${channel}`;
  }

  private fanOut(message: ScalerMessage): void {
    const wire: WireMessage = {
      s: message.seq,
      e: message.epoch,
      ...toWire(message.channel, message.topic, message.data, message.exceptSocketId),
    };
    // Not awaited by publish(): the message is stored, so a failed fan-out costs latency
    // (subscribers read it back from MongoDB), never the message. close() waits for it.
    const sent = this.requirePublisher()
      .publish(this.redisChannelOf(message.channel), JSON.stringify(wire))
      .then(
        () => undefined,
        (error: Error) => this.logger.warn(`fan-out of ${message.channel}#${message.seq}: ${error.message}`),
      )
      .finally(() => this.fanOuts.delete(sent));
    this.fanOuts.add(sent);
  }

  private onRedisMessage(redisChannel: string, payload: string): void {
    if (redisChannel === this.signalChannel) {
      this.listener?.onSignal(JSON.parse(payload) as ScalerSignal);
      return;
    }
    const wire = JSON.parse(payload) as WireMessage;
    const message: ScalerMessage = { channel: wire.c, topic: wire.t, data: wire.d, seq: wire.s, epoch: wire.e };
    if (wire.x !== undefined) message.exceptSocketId = wire.x;
    this.store?.observe(message.channel, message.epoch, message.seq);
    const stream = this.streams.get(message.channel);
    if (!stream) return;
    if (stream.early) stream.early.push(message);
    else this.accept(stream, message);
  }

  private accept(stream: ChannelStream, message: ScalerMessage): void {
    stream.accept(message, (next) => this.listener?.onMessage(next));
    if (stream.hasGap && !stream.gapTimer) {
      stream.gapTimer = setTimeout(() => void this.fillGap(stream), this.gapFillDelay);
    }
  }

  /** Reads what the stream is missing from MongoDB and delivers it, in order. */
  private async fillGap(stream: ChannelStream): Promise<void> {
    stream.gapTimer = undefined;
    if (!this.store) {
      // Without history, what Redis lost is lost: go on from the first message that arrived.
      stream.skipGap();
      const next = stream.ahead.get(stream.lastSeq + 1);
      if (next) this.accept(stream, next);
      return;
    }
    if (stream.filling || this.streams.get(stream.channel) !== stream || stream.early) return;
    stream.filling = true;
    try {
      for (;;) {
        const missing = await this.requireStore().messagesAfter(stream.channel, stream.lastSeq, GAP_FILL_BATCH);
        if (this.streams.get(stream.channel) !== stream) return;
        if (missing.length > 0 && missing[0].seq !== stream.lastSeq + 1 && missing[0].epoch === stream.epoch) {
          this.logger.warn(
            `${stream.channel}: seqs ${stream.lastSeq + 1}..${missing[0].seq - 1} are gone from the store`,
          );
          stream.lastSeq = missing[0].seq - 1;
        }
        for (const message of missing) this.accept(stream, message);
        if (missing.length < GAP_FILL_BATCH) break;
      }
      if (stream.hasGap) stream.skipGap();
    } catch (error) {
      this.logger.warn(`${stream.channel}: cannot read missed messages yet (${(error as Error).message})`);
      stream.gapTimer ??= setTimeout(() => void this.fillGap(stream), this.gapFillDelay * 10);
    } finally {
      stream.filling = false;
    }
  }

  /** After a reconnect, anything published meanwhile was lost by Redis: read every channel back. */
  private onSubscriberReady(): void {
    if (!this.subscriberWasReady) {
      this.subscriberWasReady = true;
      return;
    }
    for (const stream of this.streams.values()) void this.fillGap(stream);
  }

  private requireStore(): MessageStore {
    if (!this.store) throw new Error('MongoRedisScaler is not connected yet.');
    return this.store;
  }

  private requirePublisher(): Redis {
    if (!this.publisher) throw new Error('MongoRedisScaler is not connected yet.');
    return this.publisher;
  }

  private requireSubscriber(): Redis {
    if (!this.subscriber) throw new Error('MongoRedisScaler is not connected yet.');
    return this.subscriber;
  }
}
