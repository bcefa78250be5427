import { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { MessageNotEncodableError } from '../../errors/message-not-encodable.error.js';
import type { ChannelPosition } from '../../protocol/frames.js';
import { ChannelStream } from '../channel-stream.js';
import type {
  HistorySince,
  Scaler,
  ScalerListener,
  ScalerMessage,
  ScalerPresence,
  ScalerPublishOptions,
  ScalerSessionStore,
  ScalerSignal,
} from '../scaler.interface.js';
import { RedisFanOut } from './redis-fan-out.js';
import { RedisSharedState } from './redis-shared-state.js';
import { RedisSequencer } from './redis.sequencer.js';
import { decodeWireMessage, encodeMessageRest } from './wire-message.js';

/** Options of `RedisScaler`. */
export interface RedisScalerOptions {
  /**
   * Redis: a URL (the scaler opens and closes its connections) or an ioredis client of the app (the
   * scaler duplicates it and never closes the original).
   */
  redis: string | Redis;
  /** ioredis options for connections opened from a URL. Default: none beyond the scaler's own. */
  redisOptions?: RedisOptions;
  /** Prefix of Redis keys and channels. Default 'sss'. */
  prefix?: string;
  /**
   * How long an instance may stay silent before the others remove its presence entries (with leave
   * events), in ms: entries of a killed instance are gone within about 4/3 of it. Default 6000.
   */
  presenceTimeout?: number;
}

/**
 * Many instances, one order per channel, nothing stored (history off): a Lua script takes the next
 * seq from a Redis counter and publishes in one atomic step, so Redis delivers each channel in seq
 * order. A publish resolves once Redis took it. A re-subscription recovers only when nothing was
 * missed; otherwise it says `recovered: false` (`out_of_retention`). What Redis drops while an
 * instance is disconnected reaches its subscribers as a visible jump in seqs, never silently.
 *
 * @example
 * ```ts
 * SssModule.forRoot({ scaler: new RedisScaler({ redis: process.env.REDIS_URL }) });
 * ```
 */
export class RedisScaler implements Scaler {
  private readonly logger = new Logger('RedisScaler');
  private readonly streams = new Map<string, ChannelStream>();
  private readonly fanOut: RedisFanOut;
  private readonly prefix: string;
  private sequencer?: RedisSequencer;
  private readonly shared: RedisSharedState;
  private listener?: ScalerListener;
  /** Presence in Redis (see `RedisPresence`). */
  readonly presence: ScalerPresence;
  /** Session data in Redis (see `RedisSessionStore`). */
  readonly sessions: ScalerSessionStore;

  constructor(options: RedisScalerOptions) {
    this.prefix = options.prefix ?? 'sss';
    this.fanOut = new RedisFanOut(options.redis, options.redisOptions, this.prefix);
    this.shared = new RedisSharedState(this.prefix, options.presenceTimeout, (channel) =>
      this.fanOut.redisChannelOf(channel),
    );
    this.presence = this.shared.presence;
    this.sessions = this.shared.sessions;
  }

  async connect(listener: ScalerListener): Promise<void> {
    this.listener = listener;
    await this.fanOut.connect({
      onChannelPayload: (channel, payload) => this.onPayload(channel, payload),
      onSignal: (signal) => this.listener?.onSignal(signal),
      onPresence: (event) => this.listener?.onPresence(event),
      onReconnected: () => void this.reportLosses(),
    });
    this.sequencer = new RedisSequencer(this.fanOut.publisher, this.prefix);
    await this.shared.start(this.fanOut.publisher);
  }

  publish(channel: string, topic: string, data: unknown, options?: ScalerPublishOptions): Promise<ChannelPosition> {
    let rest: string;
    try {
      rest = encodeMessageRest(
        channel,
        topic,
        data === undefined ? undefined : JSON.stringify(data),
        options?.exceptSocketId,
      );
    } catch (error) {
      return Promise.reject(new MessageNotEncodableError(channel, error));
    }
    return this.requireSequencer().publish(channel, this.fanOut.redisChannelOf(channel), rest);
  }

  signal(signal: ScalerSignal): Promise<void> {
    return this.fanOut.signal(signal);
  }

  async subscribe(channel: string): Promise<void> {
    const stream = new ChannelStream(channel, 0);
    this.streams.set(channel, stream);
    let position: ChannelPosition;
    try {
      await this.fanOut.subscribe(channel);
      position = await this.requireSequencer().position(channel);
    } catch (error) {
      if (this.streams.get(channel) === stream) await this.unsubscribe(channel).catch(() => undefined);
      throw error;
    }
    if (this.streams.get(channel) !== stream) return;
    stream.start(position.epoch, position.seq, this.deliver);
    if (stream.hasGap) stream.skipGap(this.deliver);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.streams.delete(channel)) return;
    await this.fanOut.unsubscribe(channel);
  }

  async position(channel: string): Promise<ChannelPosition> {
    const stream = this.streams.get(channel);
    if (stream?.started) return { epoch: stream.epoch, seq: stream.lastSeq };
    return this.requireSequencer().position(channel);
  }

  async historySince(channel: string, since: ChannelPosition): Promise<HistorySince> {
    const position = await this.requireSequencer().position(channel);
    if (since.epoch !== position.epoch) return { recovered: false, reason: 'epoch_changed', position };
    if (since.seq > position.seq) return { recovered: false, reason: 'invalid_position', position };
    // Nothing is stored: only a client that missed nothing recovers.
    if (since.seq < position.seq) return { recovered: false, reason: 'out_of_retention', position };
    return { recovered: true, epoch: position.epoch, messages: [] };
  }

  async close(): Promise<void> {
    this.streams.clear();
    await this.shared.close();
    await this.fanOut.close();
    this.listener = undefined;
  }

  private readonly deliver = (message: ScalerMessage): void => {
    this.listener?.onMessage(message);
  };

  private onPayload(channel: string, payload: string): void {
    const stream = this.streams.get(channel);
    if (!stream) return;
    const message = decodeWireMessage(payload);
    if (!message || message.channel !== channel) {
      this.logger.warn(`An unreadable message was published on the Redis channel of "${channel}"; ignored.`);
      return;
    }
    stream.accept(message, this.deliver);
    // One Redis connection delivers a channel in seq order: a gap is a loss, reported at once.
    if (stream.hasGap) stream.skipGap(this.deliver);
  }

  /**
   * After a Redis reconnect, messages published meanwhile were lost for this instance. Subscribers
   * of a channel that moved on get a placeholder at its position: a jump they re-subscribe over,
   * which answers `recovered: false`.
   */
  private async reportLosses(): Promise<void> {
    for (const stream of [...this.streams.values()]) {
      if (!stream.started) continue;
      let position: ChannelPosition;
      try {
        position = await this.requireSequencer().position(stream.channel);
      } catch (error) {
        this.logger.warn(`${stream.channel}: cannot read the position after a reconnect (${(error as Error).message})`);
        continue;
      }
      const moved = position.epoch !== stream.epoch || position.seq > stream.lastSeq;
      if (!moved || position.seq < 1 || this.streams.get(stream.channel) !== stream) continue;
      const placeholder: ScalerMessage = {
        channel: stream.channel,
        topic: '',
        data: undefined,
        seq: position.seq,
        epoch: position.epoch,
        placeholder: true,
      };
      stream.accept(placeholder, this.deliver);
      if (stream.hasGap) stream.skipGap(this.deliver);
    }
  }

  private requireSequencer(): RedisSequencer {
    if (!this.sequencer) throw new Error('RedisScaler is not connected yet.');
    return this.sequencer;
  }
}
