import { Logger } from '@nestjs/common';
import type { PresenceEvent, ScalerSignal } from '../scaler.interface.js';
import { openRedisClient, usesCluster, type RedisClient, type RedisConnectionOptions } from './redis-connection.js';
import { NO_SCALER_METRICS, type ScalerHealth, type ScalerMetrics } from '../scaler-metrics.interface.js';
import { withinTimeout } from '../within-timeout.js';
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

/** How long a health check waits for Redis to answer a PING. */
const HEALTH_TIMEOUT_MS = 1_000;

/** How long close() waits for publishes still on their way to Redis. */
const FLUSH_TIMEOUT_MS = 2_000;
/** After a cluster shard's subscriber came back, when to look for what was missed meanwhile. */
const RESUBSCRIBE_SETTLE_MS = 300;

/**
 * The Redis side every Redis-based scaler shares: one publishing and one subscribing client, one
 * Redis subscription per channel that has local subscribers (its messages and its presence
 * events), and the signal channel. A channel's Redis channel carries a hash tag
 * (`<prefix>:ch:{<channel>}`), so that it shares a Redis Cluster slot with the channel's keys.
 *
 * On a standalone Redis it uses plain PUBLISH/SUBSCRIBE (any Redis version). On a Redis Cluster it
 * uses sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7+): a message goes only to the shard that owns
 * its channel's slot, and each instance holds one subscriber connection per shard it listens to
 * (ioredis `shardedSubscribers`). The signal channel is a sharded channel too (one slot).
 */
export class RedisFanOut {
  private readonly logger = new Logger('SssRedisFanOut');
  /** Publishes handed to Redis and not yet acknowledged. */
  private readonly inFlight = new Set<Promise<void>>();
  private publisherConnection?: RedisClient;
  private subscriber?: RedisClient;
  private listener?: FanOutListener;
  private subscriberWasReady = false;
  /** A sharded subscriber connection was lost since the last catch-up (cluster). */
  private shardLost = false;
  private catchUpTimer?: NodeJS.Timeout;
  /** Sharded pub/sub on a Redis Cluster, plain pub/sub on a standalone Redis. */
  readonly sharded: boolean;
  /** Where Redis errors are counted; set by the scaler's `useMetrics()`. */
  metrics: ScalerMetrics = NO_SCALER_METRICS;

  constructor(
    private readonly connection: RedisConnectionOptions,
    private readonly prefix: string,
  ) {
    this.sharded = usesCluster(connection);
  }

  async connect(listener: FanOutListener): Promise<void> {
    this.listener = listener;
    const publisher = openRedisClient(this.connection, false);
    const subscriber = openRedisClient(this.connection, true);
    this.publisherConnection = publisher;
    this.subscriber = subscriber;
    const onMessage = (redisChannel: string, payload: string) => this.onRedisMessage(redisChannel, payload);
    publisher.on('error', (error: Error) => {
      this.metrics.backendError('redis');
      this.logger.warn(`Redis: ${error.message}`);
    });
    subscriber.on('error', (error: Error) => {
      this.metrics.backendError('redis');
      this.logger.warn(`Redis subscriber: ${error.message}`);
    });
    if (this.sharded) {
      subscriber.on('smessage', onMessage);
      // A shard's subscriber connection ends with its node (a restart, a failover); ioredis opens a
      // new one and subscribes again, then says `subscribersReady`. What was published meanwhile
      // never arrived here.
      subscriber.on('-subscriber', () => (this.shardLost = true));
      subscriber.on('-node', () => (this.shardLost = true));
      subscriber.on('subscribersReady', () => this.onShardsReady());
      publisher.on('node error', (error: Error) => {
        this.metrics.backendError('redis');
        this.logger.warn(`Redis Cluster node: ${error.message}`);
      });
      subscriber.on('node error', (error: Error) => {
        this.metrics.backendError('redis');
        this.logger.warn(`Redis Cluster subscriber: ${error.message}`);
      });
      await subscriber.ssubscribe(this.signalChannel);
    } else {
      subscriber.on('message', onMessage);
      subscriber.on('ready', () => this.onSubscriberReady());
      await subscriber.subscribe(this.signalChannel);
    }
  }

  /** The publishing client (scripts run on it). */
  get publisher(): RedisClient {
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
    this.track(this.send(this.redisChannelOf(channel), payload), what);
  }

  /**
   * Keeps track of a publish sent some other way (e.g. by a script): a failure is logged and
   * counted, and close() waits for it.
   */
  track(publish: Promise<unknown>, what: string): void {
    const sent = publish
      .then(
        () => undefined,
        (error: Error) => {
          this.metrics.backendError('redis');
          this.logger.warn(`fan-out of ${what}: ${error.message}`);
        },
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  async signal(signal: ScalerSignal): Promise<void> {
    await this.send(this.signalChannel, JSON.stringify(signal));
  }

  async subscribe(channel: string): Promise<void> {
    const subscriber = this.requireSubscriber();
    const redisChannel = this.redisChannelOf(channel);
    await (this.sharded ? subscriber.ssubscribe(redisChannel) : subscriber.subscribe(redisChannel));
  }

  async unsubscribe(channel: string): Promise<void> {
    const subscriber = this.requireSubscriber();
    const redisChannel = this.redisChannelOf(channel);
    await (this.sharded ? subscriber.sunsubscribe(redisChannel) : subscriber.unsubscribe(redisChannel));
  }

  /** Whether both connections are ready and Redis answers a PING in time. */
  async health(): Promise<ScalerHealth[string]> {
    const publisher = this.publisherConnection;
    const subscriber = this.subscriber;
    if (!publisher || !subscriber) return { up: false, message: 'not connected' };
    for (const [name, connection] of [
      ['publisher', publisher],
      ['subscriber', subscriber],
    ] as const) {
      if (connection.status !== 'ready') return { up: false, message: `${name} connection is ${connection.status}` };
    }
    try {
      await withinTimeout(publisher.ping(), HEALTH_TIMEOUT_MS, `no answer to PING within ${HEALTH_TIMEOUT_MS} ms`);
      return { up: true };
    } catch (error) {
      return { up: false, message: (error as Error).message };
    }
  }

  /** Waits (briefly) for publishes in flight, then closes the connections it opened or duplicated. */
  async close(): Promise<void> {
    const flushed = Promise.allSettled([...this.inFlight]);
    await Promise.race([flushed, new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]);
    clearTimeout(this.catchUpTimer);
    await Promise.allSettled([this.subscriber?.quit(), this.publisherConnection?.quit()]);
    this.listener = undefined;
  }

  private send(redisChannel: string, payload: string): Promise<unknown> {
    return this.sharded
      ? this.publisher.spublish(redisChannel, payload)
      : this.publisher.publish(redisChannel, payload);
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

  /**
   * ioredis says `subscribersReady` after every attempt to replace a lost shard subscriber (while
   * the node is down, every few hundred ms), and sends the new SSUBSCRIBEs without waiting for
   * them: one catch-up once it settled covers what was published meanwhile, however many attempts.
   */
  private onShardsReady(): void {
    if (!this.shardLost) return;
    this.shardLost = false;
    if (this.catchUpTimer) return;
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = undefined;
      this.listener?.onReconnected();
    }, RESUBSCRIBE_SETTLE_MS);
    this.catchUpTimer.unref();
  }

  private requireSubscriber(): RedisClient {
    if (!this.subscriber) throw new Error('The scaler is not connected yet.');
    return this.subscriber;
  }
}
