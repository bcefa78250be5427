import { Logger } from '@nestjs/common';
import mongoose, { type Connection } from 'mongoose';
import { MessageNotEncodableError } from '../../errors/message-not-encodable.error.js';
import { StoreUnavailableError } from '../../errors/store-unavailable.error.js';
import type { ChannelPosition } from '../../protocol/frames.js';
import { SssMessages } from '../../sss.messages.js';
import { ChannelStream } from '../channel-stream.js';
import { ReadLimiter } from '../read-limiter.js';
import { RedisFanOut } from '../redis/redis-fan-out.js';
import { validateRedisConnection } from '../redis/redis-connection.js';
import { RedisSharedState } from '../redis/redis-shared-state.js';
import { completeWireMessage, decodeWireMessage, encodeMessageRest, wireJsonOf } from '../redis/wire-message.js';
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
import { NO_SCALER_METRICS, type ScalerHealth, type ScalerMetrics } from '../scaler-metrics.interface.js';
import { withinTimeout } from '../within-timeout.js';
import { MessageStore, type StoredMessage } from './message.store.js';
import { OutgoingMessages } from './outgoing-messages.js';
import { RedisRecentWindow } from './redis-recent-window.js';
import { RedisSeqCounter } from './redis-seq.counter.js';
import type { MongoRedisScalerOptions } from './mongo-redis-scaler-options.interface.js';
import { validateMongoRedisOptions } from './mongo-redis-options.validator.js';

/** Seqs read by range at a time after a Redis outage. */
const READ_ON_BATCH = 1000;
/** The longest wait between two attempts to fill a gap. */
const MAX_FILL_RETRY_MS = 2_000;
/** Seqs older than this, before the age limit, are never closed: they may have expired. */
const AGE_SAFETY_MARGIN_MS = 60_000;
/** How long a health check waits for MongoDB to answer a ping. */
const HEALTH_TIMEOUT_MS = 1_000;
/** The longest a channel's recent messages stay in Redis after its last message. */
const MAX_REDIS_WINDOW_TTL_MS = 600_000;
/** Default `minInsertInterval` (ms). */
const DEFAULT_INSERT_INTERVAL_MS = 10;

/** A store read of one channel's history that recoveries share. */
interface HistoryRead {
  after: number;
  upTo: number;
  result: Promise<ScalerMessage[] | 'out_of_retention'>;
}

/**
 * Many instances, one order per channel, every message stored: MongoDB gives each message its seq
 * and keeps it (see `MessageStore`); Redis carries it to the instances that have subscribers (see
 * `RedisFanOut`). A publish resolves once its message is verifiably stored.
 *
 * Each instance delivers a channel's messages in seq order (`ChannelStream`), keeps the recent ones
 * in memory and serves recoveries from them; what memory lacks is read from the store once per
 * channel however many clients ask, with a bounded number of reads at a time. Gaps (a message Redis
 * lost, or a seq whose publisher died) are read back, and closed with a placeholder when nothing
 * fills them in time, so that every instance agrees on every seq.
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
  private readonly streams = new Map<string, ChannelStream>();
  private readonly historyReads = new Map<string, HistoryRead>();
  private readonly positionReads = new Map<string, Promise<ChannelPosition>>();
  private readonly positionVerifications = new Map<string, Promise<ChannelPosition>>();
  private readonly retention: { maxMessages: number; maxAgeMs: number };
  private readonly gapFillDelay: number;
  private readonly gapTimeout: number;
  private readonly recentMessages: number;
  private readonly reads: ReadLimiter;
  private readonly fanOut: RedisFanOut;
  private readonly window: RedisRecentWindow;
  /** Stored messages on their way to the window and to subscribers. */
  private readonly outgoing: OutgoingMessages;
  private readonly ownsMongo: boolean;
  private readonly shared: RedisSharedState;
  /** Presence in Redis (see `RedisPresence`). */
  readonly presence: ScalerPresence;
  /** Session data in Redis (see `RedisSessionStore`). */
  readonly sessions: ScalerSessionStore;
  private mongo?: Connection;
  private store?: MessageStore;
  private listener?: ScalerListener;
  private trimTimer?: NodeJS.Timeout;
  private closed = false;
  private metrics: ScalerMetrics = NO_SCALER_METRICS;

  constructor(private readonly options: MongoRedisScalerOptions) {
    if ((options as { history?: boolean }).history === false) throw new Error(SssMessages.historyOffMoved);
    if (options.mongo === undefined) throw new Error(SssMessages.mongoRequired);
    validateRedisConnection('MongoRedisScaler', options);
    validateMongoRedisOptions(options);
    this.retention = { maxMessages: 1_000, maxAgeMs: 86_400_000, ...options.retention };
    this.gapFillDelay = options.gapFillDelay ?? 1_000;
    this.gapTimeout = options.gapTimeout ?? 1_000;
    this.recentMessages = options.recentMessages ?? this.retention.maxMessages;
    this.reads = new ReadLimiter(options.maxConcurrentReads ?? 4);
    this.fanOut = new RedisFanOut(options, options.prefix ?? 'sss');
    this.window = new RedisRecentWindow(
      () => this.fanOut.publisher,
      options.prefix ?? 'sss',
      options.recentInRedis ?? 200,
      Math.min(this.retention.maxAgeMs, MAX_REDIS_WINDOW_TTL_MS),
    );
    this.outgoing = new OutgoingMessages(this.window, this.fanOut);
    this.ownsMongo = typeof options.mongo === 'string';
    this.shared = new RedisSharedState(
      'MongoRedisScaler',
      options.prefix ?? 'sss',
      options.presenceTimeout,
      (channel) => this.fanOut.redisChannelOf(channel),
    );
    this.presence = this.shared.presence;
    this.sessions = this.shared.sessions;
  }

  async connect(listener: ScalerListener): Promise<void> {
    this.listener = listener;
    const { mongo } = this.options;
    this.mongo =
      typeof mongo === 'string'
        ? await mongoose
            .createConnection(mongo, { serverSelectionTimeoutMS: 5_000, ...this.options.mongoOptions })
            .asPromise()
        : mongo!;
    await this.fanOut.connect({
      onChannelPayload: (channel, payload) => this.onPayload(channel, payload),
      onSignal: (signal) => this.listener?.onSignal(signal),
      onPresence: (event) => this.listener?.onPresence(event),
      onReconnected: () => this.catchUpAll(),
    });
    this.window.defineCommands();
    const prefix = this.options.prefix ?? 'sss';
    this.store = new MessageStore(
      this.mongo,
      prefix,
      this.retention,
      this.options.maxBatchSize ?? 500,
      new RedisSeqCounter(this.fanOut.publisher, prefix, !this.fanOut.sharded),
      {
        writeConcern: { w: 'majority', ...this.options.writeConcern },
        readConcern: { level: this.options.readConcern ?? 'majority' },
      },
      this.options.maxConcurrentReads ?? 4,
      this.options.minInsertInterval ?? DEFAULT_INSERT_INTERVAL_MS,
    );
    this.store.followedSeq = (channel) => {
      const stream = this.streams.get(channel);
      return stream?.started ? stream.newestSeq : undefined;
    };
    await this.store.createIndexes();
    await this.shared.start(this.fanOut.publisher, this.fanOut.sharded);
    const ageTrimInterval = Math.ceil(Math.min(this.retention.maxAgeMs / 10, 60_000));
    this.trimTimer = setInterval(
      () =>
        void this.store?.trimByAge(ageTrimInterval).catch((error: Error) => this.logger.warn(`trim: ${error.message}`)),
      ageTrimInterval,
    );
    this.trimTimer.unref();
  }

  publish(channel: string, topic: string, data: unknown, options?: ScalerPublishOptions): Promise<ChannelPosition> {
    let json: string | undefined;
    let rest: string;
    try {
      json = data === undefined ? undefined : JSON.stringify(data);
      rest = encodeMessageRest(
        channel,
        topic,
        json,
        options?.exceptSocketId,
        this.metrics.enabled ? Date.now() : undefined,
      );
    } catch (error) {
      return Promise.reject(new MessageNotEncodableError(channel, error));
    }
    const store = this.requireStore();
    return new Promise((resolve, reject) => {
      store.write(channel, {
        topic,
        json,
        exceptSocketId: options?.exceptSocketId,
        resolve: (position) => {
          resolve(position);
          const wireJson = completeWireMessage(position.seq, position.epoch, rest);
          this.outgoing.send(channel, position.seq, wireJson);
        },
        reject: (error) => {
          this.metrics.backendError('store');
          reject(error);
        },
      });
    });
  }

  useMetrics(metrics: ScalerMetrics): void {
    this.metrics = metrics;
    this.fanOut.metrics = metrics;
  }

  /** Whether Redis and MongoDB answer (each within a second). */
  async checkHealth(): Promise<ScalerHealth> {
    const [redis, store] = await Promise.all([this.fanOut.health(), this.storeHealth()]);
    return { redis, store };
  }

  signal(signal: ScalerSignal): Promise<void> {
    return this.fanOut.signal(signal);
  }

  async subscribe(channel: string): Promise<void> {
    const stream = new ChannelStream(channel, this.recentMessages);
    this.streams.set(channel, stream);
    let position: ChannelPosition;
    try {
      await this.fanOut.subscribe(channel);
      // Where the stream starts is read only once Redis delivers: nothing can fall between the two.
      position = await this.readPosition(channel);
    } catch (error) {
      // Leave nothing half-subscribed: the next subscriber of the channel starts over.
      if (this.streams.get(channel) === stream) await this.unsubscribe(channel).catch(() => undefined);
      throw error;
    }
    if (this.streams.get(channel) !== stream) return;
    stream.start(position.epoch, position.seq, this.deliver);
    this.watchGap(stream);
    // Clients of a dead instance arrive together, each from its own position: one read of the
    // recent history now serves them all from memory.
    if (this.recentMessages > 0 && position.seq > 0) stream.warmUp = this.warmUp(stream, position.seq);
  }

  async unsubscribe(channel: string): Promise<void> {
    const stream = this.streams.get(channel);
    if (!stream) return;
    this.streams.delete(channel);
    clearTimeout(stream.gapTimer);
    clearTimeout(stream.catchUpTimer);
    await this.fanOut.unsubscribe(channel);
  }

  /** Where the channel is: from the stream this instance follows, else from the store. */
  async position(channel: string): Promise<ChannelPosition> {
    const stream = this.streams.get(channel);
    if (stream?.started) return { epoch: stream.epoch, seq: stream.lastSeq };
    return this.readPosition(channel);
  }

  async historySince(channel: string, since: ChannelPosition): Promise<HistorySince> {
    const stream = this.streams.get(channel);
    if (stream?.started && since.epoch === stream.epoch && since.seq <= stream.lastSeq) {
      return this.historyFromStream(stream, since);
    }
    // Not followed here, another epoch, or ahead of what this instance delivered: ask the store.
    let position = await this.readPosition(channel);
    // A client slightly ahead of the counter (seeded before its last messages were stored) is
    // checked against the store; one far ahead is invalid without a read (a client chooses `since`).
    if (
      since.epoch === position.epoch &&
      since.seq > position.seq &&
      since.seq - position.seq <= this.retention.maxMessages
    ) {
      position = await this.verifyPosition(channel);
    }
    if (since.epoch !== position.epoch) return { recovered: false, reason: 'epoch_changed', position };
    if (since.seq > position.seq) return { recovered: false, reason: 'invalid_position', position };
    const followed = this.streams.get(channel);
    if (followed?.started && followed.epoch === position.epoch && since.seq >= followed.lastSeq) {
      // The stream has yet to deliver what the client already has; live delivery skips it.
      return { recovered: true, epoch: position.epoch, messages: [] };
    }
    if (position.seq - since.seq > this.retention.maxMessages) {
      return { recovered: false, reason: 'out_of_retention', position };
    }
    const messages = await this.sharedRead(channel, position.epoch, since.seq, position.seq);
    if (messages === 'out_of_retention') return { recovered: false, reason: 'out_of_retention', position };
    return { recovered: true, epoch: position.epoch, messages };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.trimTimer);
    for (const stream of this.streams.values()) {
      clearTimeout(stream.gapTimer);
      clearTimeout(stream.catchUpTimer);
    }
    this.streams.clear();
    await this.store?.close(new StoreUnavailableError(SssMessages.scalerClosed));
    await this.shared.close();
    await this.fanOut.close();
    if (this.ownsMongo) await this.mongo?.close();
    this.listener = undefined;
  }

  private readonly deliver = (message: ScalerMessage): void => {
    this.listener?.onMessage(message);
  };

  /**
   * Reads the recent history of a newly followed channel into memory (best effort): from Redis's
   * window when it holds a run up to where the stream starts, else from the store.
   */
  private async warmUp(stream: ChannelStream, upTo: number): Promise<void> {
    const after = Math.max(0, upTo - Math.min(this.recentMessages, this.retention.maxMessages));
    try {
      const epoch = stream.epoch;
      const fromRedis = await this.windowRunUpTo(stream, epoch, after, upTo);
      if (this.streams.get(stream.channel) !== stream) return;
      if (fromRedis.length > 0 && fromRedis[fromRedis.length - 1].seq === upTo) {
        if (stream.epoch === epoch) stream.addOlder(fromRedis);
        return;
      }
      const stored = await this.requireStore().messagesBetween(stream.channel, after, upTo, upTo - after);
      if (this.streams.get(stream.channel) !== stream) return;
      // Only the run that joins up with what the stream delivered since it started.
      const older = stored.map((entry) => entry.message).filter((message) => message.epoch === stream.epoch);
      let first = older.length;
      while (first > 0 && older[first - 1].seq === (first === older.length ? upTo : older[first].seq - 1)) first--;
      stream.addOlder(older.slice(first));
    } catch (error) {
      this.metrics.backendError('store');
      this.logger.warn(`${stream.channel}: cannot read its recent history yet (${(error as Error).message})`);
    } finally {
      stream.warmUp = undefined;
    }
  }

  /**
   * The Redis window's newest run of messages in `(after, upTo]`, ending at `upTo` when it can.
   * `upTo` is the last seq the counter handed out, and its message is usually still being stored:
   * the window gets it within moments, so the read is repeated meanwhile. Seqs still missing after
   * `gapTimeout` were abandoned (their publisher died): they are closed and read back by key, like
   * any gap. The store is never read by range here (on FerretDB that decodes every stored
   * message); an empty window (Redis restarted, or no window) answers at once.
   */
  private async windowRunUpTo(
    stream: ChannelStream,
    epoch: string,
    after: number,
    upTo: number,
  ): Promise<ScalerMessage[]> {
    const closeAt = Date.now() + this.gapTimeout;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      const run = await this.window.newestRun(stream.channel, epoch, after, upTo);
      if (run.length === 0 || run[run.length - 1].seq === upTo) return run;
      if (this.streams.get(stream.channel) !== stream) return [];
      if (Date.now() >= closeAt) {
        const missing: number[] = [];
        for (let seq = run[run.length - 1].seq + 1; seq <= upTo; seq++) missing.push(seq);
        for (const { message } of await this.closeAndKeep(stream.channel, epoch, missing)) {
          if (message.epoch !== epoch || message.seq !== run[run.length - 1].seq + 1) break;
          run.push(message);
        }
        return run;
      }
      await sleep(Math.min(wait, closeAt - Date.now()));
    }
  }

  /** Recovery from the messages this instance delivered, reading the store only for what it lacks. */
  private async historyFromStream(stream: ChannelStream, since: ChannelPosition): Promise<HistorySince> {
    const position = (): ChannelPosition => ({ epoch: stream.epoch, seq: stream.lastSeq });
    if (stream.warmUp && !stream.recentAfter(since.seq)) await stream.warmUp;
    if (stream.lastSeq - since.seq > this.retention.maxMessages) {
      return { recovered: false, reason: 'out_of_retention', position: position() };
    }
    let fromMemory = stream.recentAfter(since.seq);
    // Each pass reads what memory lacks and puts it in front of memory; a second pass is needed
    // only when memory moved on meanwhile.
    for (let pass = 0; !fromMemory && pass < 3; pass++) {
      const epoch = stream.epoch;
      const older = await this.sharedRead(stream.channel, epoch, since.seq, stream.coveredFrom - 1);
      if (this.streams.get(stream.channel) !== stream || stream.epoch !== epoch) {
        return { recovered: false, reason: 'epoch_changed', position: position() };
      }
      if (older === 'out_of_retention') return { recovered: false, reason: 'out_of_retention', position: position() };
      stream.addOlder(older);
      fromMemory = stream.recentAfter(since.seq);
      if (!fromMemory && older.length > 0) {
        const newer = stream.recentAfter(older[older.length - 1].seq);
        if (newer) fromMemory = [...older, ...newer];
      }
    }
    if (!fromMemory) throw new StoreUnavailableError(SssMessages.storeHoles(stream.channel));
    return { recovered: true, epoch: stream.epoch, messages: fromMemory };
  }

  /**
   * The messages `after < seq <= upTo`, gapless, read once for every recovery that needs them: a
   * read in flight that covers the range is shared.
   */
  private async sharedRead(
    channel: string,
    epoch: string,
    after: number,
    upTo: number,
  ): Promise<ScalerMessage[] | 'out_of_retention'> {
    if (upTo <= after) return [];
    const inFlight = this.historyReads.get(channel);
    if (inFlight && inFlight.after <= after && inFlight.upTo >= upTo) {
      const shared = await inFlight.result;
      return shared === 'out_of_retention' ? shared : shared.filter((m) => m.seq > after && m.seq <= upTo);
    }
    const read: HistoryRead = { after, upTo, result: this.readGapless(channel, epoch, after, upTo) };
    if (!inFlight) this.historyReads.set(channel, read);
    try {
      return await read.result;
    } finally {
      if (this.historyReads.get(channel) === read) this.historyReads.delete(channel);
    }
  }

  /**
   * Reads `after < seq <= upTo` until it is gapless. A missing seq is in flight (its publisher
   * has it) or taken and never stored (its publisher failed or died): after `gapTimeout` it is
   * closed with a placeholder, unless it may have expired, which makes the range unrecoverable.
   */
  private async readGapless(
    channel: string,
    epoch: string,
    after: number,
    upTo: number,
  ): Promise<ScalerMessage[] | 'out_of_retention'> {
    const fromRedis = await this.window.range(channel, epoch, after, upTo);
    if (fromRedis) return fromRedis;
    const store = this.requireStore();
    const startedAt = Date.now();
    // The message at `after` comes along: how old it is tells whether what follows may have expired.
    const from = Math.max(0, after - 1);
    for (let closed = false; ;) {
      const stored = await store.messagesBetween(channel, from, upTo, upTo - from);
      let wanted = stored.filter((entry) => entry.message.seq > after);
      let missing = missingSeqs(wanted, after, upTo);
      if (missing.length === 0) return wanted.map((entry) => entry.message);
      if (!this.closable(stored, missing, upTo)) return 'out_of_retention';
      if (closed) throw new StoreUnavailableError(SssMessages.storeHoles(channel));
      // In flight or abandoned: give their publishers `gapTimeout` (no reads meanwhile), then close
      // them and read back by key what each holds (its message or the placeholder).
      const waited = Date.now() - startedAt;
      if (waited < this.gapTimeout) await sleep(this.gapTimeout - waited);
      const held = (await store.closeAndRead(channel, epoch, missing)).filter((entry) => entry.message.epoch === epoch);
      closed = true;
      wanted = [...wanted, ...held].sort((a, b) => a.message.seq - b.message.seq);
      missing = missingSeqs(wanted, after, upTo);
      // Seqs held by documents of earlier versions (no key) take one more read by range.
      if (missing.length === 0) return wanted.map((entry) => entry.message);
    }
  }

  /**
   * Whether missing seqs were taken recently enough to be closed rather than expired by retention.
   * Seqs are taken in time order, so a seq is young when a stored message before it is young.
   */
  private closable(stored: StoredMessage[], missing: number[], upTo: number): boolean {
    if (missing[0] <= upTo - this.retention.maxMessages) return false;
    const oldestAllowed = Date.now() - this.retention.maxAgeMs + AGE_SAFETY_MARGIN_MS;
    const before = stored.filter((entry) => entry.message.seq < missing[0]);
    const predecessor = before[before.length - 1];
    return predecessor !== undefined && predecessor.storedAt >= oldestAllowed;
  }

  /** The position checked against the store, once at a time per channel. */
  private verifyPosition(channel: string): Promise<ChannelPosition> {
    let verification = this.positionVerifications.get(channel);
    if (!verification) {
      verification = this.reads
        .run(() => this.requireStore().verifiedPosition(channel))
        .finally(() => this.positionVerifications.delete(channel));
      this.positionVerifications.set(channel, verification);
    }
    return verification;
  }

  private readPosition(channel: string): Promise<ChannelPosition> {
    let read = this.positionReads.get(channel);
    if (!read) {
      // Not through the read limiter: a position is a Redis read and a cached epoch (the scan that
      // seeds lost counters is shared by the whole process), and recoveries wait for it.
      read = this.requireStore()
        .position(channel)
        .finally(() => this.positionReads.delete(channel));
      this.positionReads.set(channel, read);
    }
    return read;
  }

  private onPayload(channel: string, payload: string): void {
    const stream = this.streams.get(channel);
    if (!stream) return;
    const message = decodeWireMessage(payload);
    if (!message || message.channel !== channel) {
      this.logger.warn(`An unreadable message was published on the Redis channel of "${channel}"; ignored.`);
      return;
    }
    this.accept(stream, message);
  }

  private accept(stream: ChannelStream, message: ScalerMessage): void {
    stream.accept(message, this.deliver);
    this.watchGap(stream);
  }

  private watchGap(stream: ChannelStream, delay = this.gapFillDelay): void {
    if (stream.hasGap && !stream.gapTimer && !stream.filling) {
      stream.gapTimer = setTimeout(() => void this.fillGap(stream), delay);
    }
  }

  /** After a Redis reconnect: what was published meanwhile never arrived here (see `catchUp`). */
  private catchUpAll(): void {
    // If Redis came back empty, the counters of the channels followed here are seeded from memory
    // before anyone needs them (an instance that does not follow a channel would scan the store).
    void this.store
      ?.reseedFollowed(this.streams.keys())
      .catch((error: Error) => this.logger.warn(`reseeding counters: ${error.message}`));
    for (const stream of this.streams.values()) if (stream.started) void this.catchUp(stream);
  }

  /**
   * What a channel missed while Redis was away holds seqs taken before the subscription came
   * back, so up to where the counter is now (`top`). The first message to arrive beyond one of
   * them shows it as a gap, closed and read back by key like any other. Only when nothing beyond
   * `top` arrived within `gapTimeout` (a channel gone quiet) is the store read by range from the
   * last delivered message: on FerretDB a range read scans the whole collection, and every
   * instance meets the outage at once.
   */
  private async catchUp(stream: ChannelStream): Promise<void> {
    clearTimeout(stream.catchUpTimer);
    let top: number;
    try {
      top = (await this.readPosition(stream.channel)).seq;
    } catch {
      return void this.fillGap(stream, true);
    }
    if (this.closed || this.streams.get(stream.channel) !== stream) return;
    stream.catchUpTimer = setTimeout(() => {
      stream.catchUpTimer = undefined;
      if (this.streams.get(stream.channel) === stream && stream.newestSeq < top) void this.fillGap(stream, true);
    }, this.gapTimeout);
  }

  /**
   * Fills what the stream misses and delivers it in order: the seqs before the first waiting
   * message once they are missing for `gapTimeout` (closed with placeholders, read back by key),
   * and (`readOn`, after a Redis outage) everything after the last delivered one, read by range.
   */
  private async fillGap(stream: ChannelStream, readOn = false, attempt = 0): Promise<void> {
    stream.gapTimer = undefined;
    if (this.closed || this.streams.get(stream.channel) !== stream || !stream.started) return;
    if (stream.filling) {
      if (readOn) stream.readOnPending = true;
      return;
    }
    stream.filling = true;
    let retryIn: number | undefined;
    try {
      // A gap younger than `gapTimeout` is in flight: its messages come through Redis, and it
      // costs no read. One that waited it out is closed, and what each of its seqs holds (the
      // message that won it or the placeholder) is read back by key. Only after a Redis outage
      // is the store read by range, from the last delivered message on.
      let handed = 0;
      if (this.waitedOut(stream)) {
        // A gap wider than the history is read by range (what retention still has); a narrower
        // one is closed, and read back by key.
        handed +=
          this.gapWidth(stream) >= this.retention.maxMessages
            ? await this.readGap(stream)
            : await this.closeMissing(stream);
      }
      if (this.streams.get(stream.channel) !== stream) return;
      this.metrics.gapFilled(handed + (readOn ? await this.readOn(stream) : 0));
      if (this.streams.get(stream.channel) !== stream) return;
      if (stream.hasGap) retryIn = this.nextFill(stream);
    } catch (error) {
      this.metrics.backendError('store');
      this.logger.warn(`${stream.channel}: cannot read missed messages yet (${(error as Error).message})`);
      retryIn = Math.min(MAX_FILL_RETRY_MS, this.gapFillDelay * 2 ** (attempt + 1));
      readOn ||= stream.readOnPending;
    } finally {
      stream.filling = false;
    }
    if (this.closed || this.streams.get(stream.channel) !== stream) return;
    if (stream.readOnPending) {
      stream.readOnPending = false;
      return void this.fillGap(stream, true);
    }
    if (retryIn !== undefined) {
      clearTimeout(stream.gapTimer);
      stream.gapTimer = setTimeout(() => void this.fillGap(stream, readOn, attempt + 1), retryIn);
    }
  }

  /**
   * After a Redis outage: reads what was stored after the last delivered message (published
   * meanwhile, so never fanned out here) and hands it to the stream; returns how many messages
   * (placeholders included) it handed over. Holes left by seqs still in flight are gaps like any
   * other.
   */
  private async readOn(stream: ChannelStream): Promise<number> {
    let read = 0;
    for (;;) {
      const after = stream.lastSeq;
      read += await this.readIntoStream(stream, after, Number.MAX_SAFE_INTEGER, READ_ON_BATCH);
      // On only while whole batches move the stream forward (and the stream is still followed).
      if (stream.lastSeq < after + READ_ON_BATCH) return read;
    }
  }

  private async storeHealth(): Promise<ScalerHealth[string]> {
    const db = this.mongo?.readyState === 1 ? this.mongo.db : undefined;
    if (!db) return { up: false, message: 'not connected' };
    try {
      await withinTimeout(
        db.command({ ping: 1 }),
        HEALTH_TIMEOUT_MS,
        `no answer to ping within ${HEALTH_TIMEOUT_MS} ms`,
      );
      return { up: true };
    } catch (error) {
      return { up: false, message: (error as Error).message };
    }
  }

  /** Whether the stream has waited `gapTimeout` for the seqs before its first waiting message. */
  private waitedOut(stream: ChannelStream): boolean {
    if (stream.firstAheadSeq === undefined || stream.gapSince === undefined) return false;
    return Date.now() - stream.gapSince >= this.gapTimeout;
  }

  /** How many seqs are missing before the first waiting message. */
  private gapWidth(stream: ChannelStream): number {
    return stream.firstAheadSeq === undefined ? 0 : stream.firstAheadSeq - 1 - stream.lastSeq;
  }

  /** Reads the seqs before the first waiting message by range and hands the stream what is stored. */
  private readGap(stream: ChannelStream): Promise<number> {
    const after = stream.lastSeq;
    const upTo = stream.firstAheadSeq! - 1;
    return this.readIntoStream(stream, after, upTo, upTo - after);
  }

  /**
   * Reads what is stored with `after < seq <= upTo` (at most `limit` seqs) and hands it to the
   * stream, if the channel still follows it; returns how many messages (placeholders included) it
   * handed over.
   */
  private async readIntoStream(stream: ChannelStream, after: number, upTo: number, limit: number): Promise<number> {
    const stored = await this.requireStore().messagesBetween(stream.channel, after, upTo, limit);
    if (this.streams.get(stream.channel) !== stream) return 0;
    for (const entry of stored) stream.accept(entry.message, this.deliver);
    return stored.length;
  }

  /**
   * Hands the stream the seqs before the first waiting message; returns how many it handed over.
   * First what Redis's window holds of them: stored messages whose fan-out this instance missed
   * (while its subscription was coming back after a Redis restart, say), which costs the store
   * nothing. The rest are closed with placeholders and read back by key: every instance that
   * follows the channel meets the same gap, and on FerretDB even a read by key walks the table.
   */
  private async closeMissing(stream: ChannelStream): Promise<number> {
    const last = stream.firstAheadSeq! - 1;
    const epoch = stream.epoch;
    const fromWindow = await this.window.held(stream.channel, epoch, stream.lastSeq, last);
    if (this.streams.get(stream.channel) !== stream || stream.epoch !== epoch) return 0;
    for (const message of fromWindow) stream.accept(message, this.deliver);
    const missing: number[] = [];
    for (let seq = stream.lastSeq + 1; seq <= last; seq++) if (!stream.ahead.has(seq)) missing.push(seq);
    if (missing.length === 0) return fromWindow.length;
    const held = await this.closeAndKeep(stream.channel, epoch, missing);
    if (this.streams.get(stream.channel) !== stream || stream.epoch !== epoch) return fromWindow.length;
    for (const entry of held) if (entry.message.epoch === epoch) stream.accept(entry.message, this.deliver);
    const handed = fromWindow.length + held.length;
    if (stream.lastSeq >= last) return handed;
    // Seqs held by documents of earlier versions (stored without a key): one read by range.
    const after = stream.lastSeq;
    return handed + (await this.readIntoStream(stream, after, last, last - after));
  }

  /**
   * Closes seqs with placeholders and reads back by key what each holds. What a seq holds now is
   * final: the window gets it too (a message its publisher could not add).
   */
  private async closeAndKeep(channel: string, epoch: string, seqs: number[]): Promise<StoredMessage[]> {
    const held = await this.requireStore().closeAndRead(channel, epoch, seqs);
    for (const { message } of held) void this.window.add(channel, message.seq, wireJsonOf(message));
    return held;
  }

  /** When to look at a remaining gap again, in ms; undefined when nothing is left to wait for. */
  private nextFill(stream: ChannelStream): number | undefined {
    const firstAhead = stream.firstAheadSeq!;
    const waited = Date.now() - (stream.gapSince ?? Date.now());
    // Young gaps are in flight, however wide (a publisher's big batch): they wait.
    if (waited < this.gapTimeout) return this.gapTimeout - waited;
    if (firstAhead - 1 - stream.lastSeq >= this.retention.maxMessages) {
      // This instance fell behind by more than the history holds: subscribers see the jump and
      // re-subscribe, and are told what they cannot recover.
      this.logger.warn(`${stream.channel}: seqs ${stream.lastSeq + 1}..${firstAhead - 1} are beyond retention here`);
      stream.skipGap(this.deliver);
      return stream.hasGap ? this.gapFillDelay : undefined;
    }
    return this.gapFillDelay;
  }

  private requireStore(): MessageStore {
    if (!this.store) throw new Error('MongoRedisScaler is not connected yet.');
    return this.store;
  }
}

/** The seqs in `after < seq <= upTo` that `stored` (sorted) lacks. */
function missingSeqs(stored: StoredMessage[], after: number, upTo: number): number[] {
  const missing: number[] = [];
  let expected = after + 1;
  for (const { message } of stored) {
    for (; expected < message.seq && expected <= upTo; expected++) missing.push(expected);
    expected = Math.max(expected, message.seq + 1);
  }
  for (; expected <= upTo; expected++) missing.push(expected);
  return missing;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
