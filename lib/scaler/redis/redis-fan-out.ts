import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { PresenceEvent, ScalerSignal } from '../scaler.interface.js';
import { decodePresencePayload, isPresencePayload } from './redis-presence.js';

/** What a scaler hears from its Redis fan-out. */
export interface FanOutListener {
  /** A message published on the Redis channel of `channel` (raw wire JSON). */
  onChannelPayload(channel: string, payload: string): void;
  /** An unsequenced signal for every instance. */
  onSignal(signal: ScalerSignal): void;
  /** A presence event of a channel this instance subscribed to. */
  onPresence(event: PresenceEvent): void;
  /**
   * The subscriber connection came back after a loss: whatever was published meanwhile never
   * reached this instance.
   */
  onReconnected(): void;
}

/** How long close() waits for publishes still on their way to Redis. */
const FLUSH_TIMEOUT_MS = 2_000;

/**
 * The Redis side every Redis-based scaler shares: one publishing and one subscribing connection,
 * one Redis subscription per channel that has local subscribers (its messages and its presence
 * events), and the signal channel. A
 * channel's Redis channel carries a hash tag (`<prefix>:ch:{<channel>}`), so that it shares a Redis
 * Cluster slot with the channel's keys.
 */
export class RedisFanOut {
  private readonly logger = new Logger('SssRedisFanOut');
  /** Publishes handed to Redis and not yet acknowledged. */
  private readonly inFlight = new Set<Promise<void>>();
  private publisherConnection?: Redis;
  private subscriber?: Redis;
  private listener?: FanOutListener;
  private subscriberWasReady = false;

  constructor(
    private readonly redis: string | Redis,
    private readonly redisOptions: RedisOptions | undefined,
    private readonly prefix: string,
  ) {}

  async connect(listener: FanOutListener): Promise<void> {
    this.listener = listener;
    const options = { enableAutoPipelining: true, ...this.redisOptions };
    const publisher = typeof this.redis === 'string' ? new Redis(this.redis, options) : this.redis.duplicate();
    const subscriber = publisher.duplicate();
    this.publisherConnection = publisher;
    this.subscriber = subscriber;
    subscriber.on('message', (redisChannel: string, payload: string) => this.onRedisMessage(redisChannel, payload));
    subscriber.on('ready', () => this.onSubscriberReady());
    publisher.on('error', (error: Error) => this.logger.warn(`Redis: ${error.message}`));
    subscriber.on('error', (error: Error) => this.logger.warn(`Redis subscriber: ${error.message}`));
    await subscriber.subscribe(this.signalChannel);
  }

  /** The publishing connection (scripts run on it). */
  get publisher(): Redis {
    if (!this.publisherConnection) throw new Error('The scaler is not connected yet.');
    return this.publisherConnection;
  }

  /** The Redis channel that carries a channel's messages. */
  redisChannelOf(channel: string): string {
    return `${this.prefix}:ch:{${channel}}`;
  }

  /**
   * Publishes a stored message's wire JSON without waiting: it is stored, so a lost publish costs
   * latency (subscribers read it back), never the message. close() waits for what is in flight.
   */
  publishStored(channel: string, payload: string, what: string): void {
    const sent = this.publisher
      .publish(this.redisChannelOf(channel), payload)
      .then(
        () => undefined,
        (error: Error) => this.logger.warn(`fan-out of ${what}: ${error.message}`),
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  async signal(signal: ScalerSignal): Promise<void> {
    await this.publisher.publish(this.signalChannel, JSON.stringify(signal));
  }

  async subscribe(channel: string): Promise<void> {
    await this.requireSubscriber().subscribe(this.redisChannelOf(channel));
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.requireSubscriber().unsubscribe(this.redisChannelOf(channel));
  }

  /** Waits (briefly) for publishes in flight, then closes the connections it opened or duplicated. */
  async close(): Promise<void> {
    const flushed = Promise.allSettled([...this.inFlight]);
    await Promise.race([flushed, new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]);
    await Promise.allSettled([this.subscriber?.quit(), this.publisherConnection?.quit()]);
    this.listener = undefined;
  }

  private get signalChannel(): string {
    return `${this.prefix}:signals`;
  }

  private onRedisMessage(redisChannel: string, payload: string): void {
    const listener = this.listener;
    if (!listener) return;
    if (redisChannel === this.signalChannel) {
      let signal: ScalerSignal;
      try {
        signal = JSON.parse(payload) as ScalerSignal;
      } catch {
        this.logger.warn('An unreadable signal was published on Redis; ignored.');
        return;
      }
      listener.onSignal(signal);
      return;
    }
    const prefix = `${this.prefix}:ch:{`;
    if (!redisChannel.startsWith(prefix) || !redisChannel.endsWith('}')) return;
    const channel = redisChannel.slice(prefix.length, -1);
    if (!isPresencePayload(payload)) return listener.onChannelPayload(channel, payload);
    const event = decodePresencePayload(channel, payload);
    if (event) listener.onPresence(event);
    else this.logger.warn(`An unreadable presence event was published on the Redis channel of "${channel}"; ignored.`);
  }

  private onSubscriberReady(): void {
    if (!this.subscriberWasReady) {
      this.subscriberWasReady = true;
      return;
    }
    this.listener?.onReconnected();
  }

  private requireSubscriber(): Redis {
    if (!this.subscriber) throw new Error('The scaler is not connected yet.');
    return this.subscriber;
  }
}
