import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { mongo, type Connection } from 'mongoose';
import { StoreUnavailableError } from '../../errors/store-unavailable.error.js';
import type { SssRetention } from '../../interfaces/sss-module-options.interface.js';
import type { ChannelPosition } from '../../protocol/frames.js';
import { SssMessages } from '../../sss.messages.js';
import type { ScalerMessage } from '../scaler.interface.js';
import { MergedRangeReader } from './merged-range-reader.js';
import type { RedisSeqCounter } from './redis-seq.counter.js';

/** A stored message; short field names keep documents and indexes small. */
interface MessageDocument {
  /**
   * `messageKey(c, s)`: whatever holds a seq is read, closed and deleted by its key (documents
   * written by earlier versions have an ObjectId here, and are found by `c` and `s` instead).
   */
  _id: string | mongo.ObjectId;
  /**
   * The message's identity, chosen before the insert: a key read back after a failed insert holds
   * this message only if it holds this identity. Placeholders have none.
   */
  i?: string;
  /** channel */
  c: string;
  /** seq */
  s: number;
  /** epoch */
  e: string;
  /** topic */
  t: string;
  /** data, as JSON text (stored as text: any JSON value is storable, and nothing is cast) */
  j?: string;
  /** data of documents written by 0.1 (an object, not text) */
  d?: unknown;
  /** socket id excluded from live delivery */
  x?: string;
  /** a placeholder: the seq was taken but its message never stored */
  p?: 1;
  /** stored at (age-based retention) */
  at: Date;
}

/**
 * One document per channel: its epoch, and a lower bound of its last stored seq, raised only when
 * age-based retention is about to delete the channel's newest stored message.
 */
interface ChannelDocument {
  _id: string;
  e: string;
  s: number;
}

/**
 * The `_id` of the document that holds a channel's seq: one key per (channel, seq), so that the
 * unique `_id` index arbitrates every seq, and reading, closing or deleting a known seq is a
 * lookup by primary key on any store (on FerretDB 1.x, the only filter that is not a scan of the
 * whole collection). The seq follows the last `#`, so distinct pairs never share a key.
 */
export function messageKey(channel: string, seq: number): string {
  return `${channel}#${seq}`;
}

/** A message waiting to be written. */
export interface PendingWrite {
  topic: string;
  /** The data as JSON text; undefined for no data. */
  json?: string;
  exceptSocketId?: string;
  resolve(position: ChannelPosition): void;
  reject(error: Error): void;
}

/** A queued write and its channel. */
interface QueuedWrite {
  channel: string;
  write: PendingWrite;
}

/** A write whose seq is taken and whose document is built. */
interface Attempt {
  write: PendingWrite;
  document: MessageDocument & { _id: string; i: string };
}

/** Which messages of an insert are stored (by identity); `unknown` when even the read-back failed. */
interface InsertOutcome {
  stored: Map<string, ChannelPosition>;
  error?: unknown;
  unknown?: boolean;
}

const DUPLICATE_KEY = 11000;
const MAX_WRITE_ATTEMPTS = 8;
/** Lookups by key in flight at once for one read-back. */
const KEY_READ_CONCURRENCY = 8;
/** The most channel documents read one key at a time; more go in one `$in` query. */
const MAX_KEY_LOOKUPS = 64;
/** How often the channels written meanwhile are trimmed to `maxMessages` (one instance per interval). */
const COUNT_TRIM_INTERVAL_MS = 5_000;
/** How long one instance may take to seed every lost counter before the others seed themselves. */
const SEED_TURN_MS = 10_000;
/** How often an instance waiting for another's seeding looks whether it finished. */
const SEED_POLL_MS = 50;
/** How long an instance waits for the followers of a channel to seed its lost counter. */
const FOLLOWER_SEED_WAIT_MS = 300;
/** Channels trimmed by one delete. */
const TRIM_CHANNELS_PER_DELETE = 100;
/** Epochs remembered (they never change while the channel document exists). */
const MAX_CACHED_EPOCHS = 10_000;

/**
 * Channel history in MongoDB, and the arbiter of every channel's order.
 *
 * A writer takes a range of candidate seqs from an atomic counter (`RedisSeqCounter`, seeded from
 * the store), then inserts its messages under them, each keyed by `messageKey(channel, seq)`: the
 * unique `_id` (and the unique `(channel, seq)` index, for documents of older versions) guarantees
 * that a seq holds at most one document. Every message carries an identity chosen before the
 * insert: after any failed or partial insert, the writer reads its keys back and settles each
 * publish from what they hold, never from a count the store or driver reported (FerretDB 1.x, for
 * one, reports counts that do not mean "the first N are stored"). A seq that was taken but never
 * stored (a failed insert, a crashed publisher) is closed with a placeholder under the same key,
 * so that exactly one of "the message" and "the placeholder" holds it and every instance agrees.
 *
 * Reads of known seqs (read-backs, closed gaps) go by key. Reads of ranges (recoveries, catching
 * up after a Redis outage, the recent history of a newly followed channel) are merged into few
 * queries (`MergedRangeReader`, at most `maxConcurrentReads` at once).
 *
 * The channel document holds the epoch, which outlives Redis, and a lower bound of the last stored
 * seq, which outlives age-based retention: the counter is seeded from it and the newest message.
 * The newest stored message is the bound as long as it is stored, so the document is updated only
 * when age-based retention is about to delete it (an idle channel), never on the write path: an
 * update costs FerretDB 1.x a scan of the whole collection, even by `_id`.
 *
 * A process has one insert in flight at a time; what is queued meanwhile, of every channel, goes in
 * the next one, which batches writes under load. When writes came while the last insert was in
 * flight, the next one also waits until `minInsertInterval` after the last one started: one insert,
 * one counter script and one window-and-publish script then carry everything published in that
 * time. Everything on the hot path uses the driver directly (no casting).
 */
export class MessageStore {
  /** Writes waiting for the insert in flight to finish; they go together in the next one. */
  private readonly queue: QueuedWrite[] = [];
  private writing = false;
  /** An insert is in flight; `contended`: writes were queued meanwhile (the store is under load). */
  private inserting = false;
  private contended = false;
  /** When the last batch started (`performance.now()`). */
  private lastBatchAt = -Infinity;
  private countTrimTimer?: NodeJS.Timeout;
  /** Channels with messages beyond retention, and their last seq, waiting for this process's turn to trim. */
  private readonly untrimmed = new Map<string, number>();
  private readonly epochs = new Map<string, string>();
  /** Epoch lookups in flight, and the channels of the next batched lookup. */
  private readonly epochLookups = new Map<string, Promise<string>>();
  private epochBatch = new Map<string, { resolve: (epoch: string) => void; reject: (error: unknown) => void }>();
  private epochBatchTimer?: NodeJS.Immediate;
  private epochLookupRunning = false;
  /** The read that seeds every lost counter (here or by another instance), while it runs. */
  private seeding?: Promise<boolean>;
  /** A read of this process's own after another instance's seeding missed a counter. */
  private ownSeeding?: Promise<void>;
  /** The last seq this process took per channel. */
  private readonly takenSeqs = new Map<string, number>();
  /**
   * The newest seq this instance has seen of a channel it follows (set by the scaler); undefined
   * for a channel it does not follow.
   */
  followedSeq: (channel: string) => number | undefined = () => undefined;
  /** Reads of ranges, merged into few queries (see `MergedRangeReader`). */
  private readonly ranges: MergedRangeReader<MessageDocument>;
  /** Identities of this process's messages: a random prefix and a counter. */
  private readonly identityPrefix = randomUUID().slice(0, 13);
  private identityCount = 0;
  private readonly logger = new Logger('SssMessageStore');
  private readonly messagesName: string;
  private readonly channelsName: string;

  constructor(
    private readonly connection: Connection,
    prefix: string,
    private readonly retention: Required<SssRetention>,
    private readonly maxBatchSize: number,
    private readonly counter: RedisSeqCounter,
    /** Write and read concern of both collections (see `MongoRedisScalerOptions`). */
    private readonly concerns: mongo.CollectionOptions = {},
    /** Merged range reads in flight at once (see `MongoRedisScalerOptions.maxConcurrentReads`). */
    private readonly maxConcurrentReads = 4,
    /** See `MongoRedisScalerOptions.minInsertInterval`. */
    private readonly minInsertInterval = 0,
  ) {
    this.messagesName = `${prefix}_messages`;
    this.channelsName = `${prefix}_channels`;
    this.ranges = new MergedRangeReader(
      (ranges) =>
        this.guard(() => {
          const clauses = ranges.map(({ channel, after, upTo }) => ({ c: channel, s: { $gt: after, $lte: upTo } }));
          return this.messages.find(clauses.length === 1 ? clauses[0] : { $or: clauses }).toArray();
        }),
      maxConcurrentReads,
    );
  }

  /** Waits for the connection and creates the indexes the order and the retention rely on. */
  async createIndexes(): Promise<void> {
    if (!this.connection.db) await this.connection.asPromise();
    await this.messages.createIndex({ c: 1, s: 1 }, { unique: true });
    await this.messages.createIndex({ at: 1 });
  }

  /** Stops the periodic work; what is queued is rejected with `error`. */
  async close(error: Error): Promise<void> {
    clearInterval(this.countTrimTimer);
    this.countTrimTimer = undefined;
    this.ranges.close(error);
    await this.trimByCount();
    rejectAll(
      this.queue.splice(0).map((queued) => queued.write),
      error,
    );
  }

  /**
   * Queues a message; resolves once it is stored, with its place in the channel's order. One
   * insert is in flight per process, carrying every channel's queued messages: under load, one
   * round trip stores many messages of many channels.
   */
  write(channel: string, write: PendingWrite): void {
    this.queue.push({ channel, write });
    if (this.inserting) this.contended = true;
    if (!this.countTrimTimer) {
      this.countTrimTimer = setInterval(() => void this.trimByCount(), COUNT_TRIM_INTERVAL_MS);
      this.countTrimTimer.unref();
    }
    if (!this.writing) void this.drain();
  }

  /** The channel's epoch and the last seq handed out, creating the channel on first use. */
  async position(channel: string): Promise<ChannelPosition> {
    return this.guard(async () => {
      const epoch = await this.epochOf(channel);
      let seq = await this.counter.peek(channel);
      if (seq === undefined) {
        await this.seedCounter(channel);
        seq = (await this.counter.peek(channel)) ?? 0;
      }
      return { epoch, seq };
    });
  }

  /**
   * The position checked against what is stored: the counter is raised past the newest stored
   * message first. After Redis lost the counter, the seed may miss a message stored just after it
   * was read; a client that already got that message must not be told its position is invalid.
   */
  async verifiedPosition(channel: string): Promise<ChannelPosition> {
    await this.guard(async () => this.counter.raise(channel, await this.lastStoredSeq(channel)));
    return this.position(channel);
  }

  /**
   * Stored messages (and placeholders) with `after < seq <= min(upTo, after + limit)`, in order.
   * Ranges asked for together (or while other reads run) go out in one query.
   */
  async messagesBetween(channel: string, after: number, upTo: number, limit: number): Promise<StoredMessage[]> {
    const documents = await this.ranges.read(channel, after, Math.min(upTo, after + limit));
    return this.guard(async () => documents.map(toStoredMessage));
  }

  /**
   * Closes seqs that were taken but hold nothing, with placeholders. A seq whose message is stored
   * meanwhile keeps its message: the unique key refuses the placeholder.
   */
  async closeSeqs(channel: string, epoch: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    const now = new Date();
    const placeholders = seqs.map((seq): MessageDocument => ({
      _id: messageKey(channel, seq),
      c: channel,
      s: seq,
      e: epoch,
      t: '',
      p: 1,
      at: now,
    }));
    await this.guard(async () => {
      try {
        await this.messages.insertMany(placeholders, { ordered: false });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    });
  }

  /**
   * Closes the seqs (see `closeSeqs`) and reads back, by key, what each now holds: its message or
   * a placeholder. A seq held by a document of an older version (no key) is not in the answer.
   */
  async closeAndRead(channel: string, epoch: string, seqs: number[]): Promise<StoredMessage[]> {
    await this.closeSeqs(channel, epoch, seqs);
    return this.guard(async () => {
      const held = await byKey(
        this.messages,
        seqs.map((seq) => messageKey(channel, seq)),
      );
      return [...held.values()]
        .filter((document) => document.c === channel)
        .sort((a, b) => a.s - b.s)
        .map(toStoredMessage);
    });
  }

  /**
   * Deletes messages older than the retention age (one instance per `intervalMs`). A channel
   * about to lose its newest stored message first has its channel document's bound raised to it,
   * so that a counter Redis loses later is never seeded below a seq that was delivered: a channel
   * whose counter is past the expiring messages keeps a newer one when the counter's own seq is
   * stored (one lookup by key); any other channel is raised. Only idle channels cost an update.
   */
  async trimByAge(intervalMs: number): Promise<void> {
    if (!(await this.counter.takeTrimTurn('age', intervalMs))) return;
    const cutoff = new Date(Date.now() - this.retention.maxAgeMs);
    const expiring = new Map<string, number>();
    const old = this.messages.find({ at: { $lt: cutoff } }, { projection: { _id: 0, c: 1, s: 1 } });
    for await (const { c, s } of old) expiring.set(c, Math.max(expiring.get(c) ?? 0, s));
    if (expiring.size === 0) return;
    const raised = await this.boundsToRaise(expiring);
    if (raised.length > 0) {
      const updates = raised.map(([channel, seq]) => ({
        updateOne: { filter: { _id: channel }, update: { $max: { s: seq } } },
      }));
      // A bound that could not be raised keeps its messages until the next turn.
      await this.channels.bulkWrite(updates, { ordered: false });
    }
    await this.messages.deleteMany({ at: { $lt: cutoff } });
  }

  /** Of channels and their newest expiring seq, those whose bound must be raised to it first. */
  private async boundsToRaise(expiring: Map<string, number>): Promise<Array<[string, number]>> {
    const channels = [...expiring.keys()];
    const counters = await Promise.all(channels.map((channel) => this.counter.peek(channel)));
    const ahead = new Map<string, string>();
    channels.forEach((channel, index) => {
      const taken = counters[index];
      if (taken !== undefined && taken > expiring.get(channel)!) ahead.set(messageKey(channel, taken), channel);
    });
    const newer = await byKey(this.messages, [...ahead.keys()]);
    const covered = new Set([...newer.keys()].map((key) => ahead.get(key)));
    return [...expiring].filter(([channel]) => !covered.has(channel));
  }

  private get messages(): mongo.Collection<MessageDocument> {
    return this.database().collection<MessageDocument>(this.messagesName, this.concerns);
  }

  private get channels(): mongo.Collection<ChannelDocument> {
    return this.database().collection<ChannelDocument>(this.channelsName, this.concerns);
  }

  private database(): mongo.Db {
    const db = this.connection.db;
    if (!db) throw new StoreUnavailableError(SssMessages.storeNotConnected);
    return db;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        // Under load, what comes within `minInsertInterval` goes in one batch: one insert and one
        // Redis script for all of it. A lone write (a publisher that awaits each publish) never waits.
        if (this.contended && this.queue.length < this.maxBatchSize) {
          const wait = this.lastBatchAt + this.minInsertInterval - performance.now();
          if (wait > 0) await delay(wait);
        }
        this.lastBatchAt = performance.now();
        const batch = this.queue.splice(0, this.maxBatchSize);
        try {
          await this.writeBatch(batch);
        } catch (error) {
          // writeBatch settles every write itself; this is a last resort against a wedged writer.
          const cause = error instanceof Error ? error : new Error(String(error));
          rejectAll(
            batch.map((queued) => queued.write),
            cause,
          );
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(batch: QueuedWrite[]): Promise<void> {
    let remaining = groupByChannel(batch);
    let collided = new Set<string>();
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS && remaining.size > 0; attempt++) {
      const taken = await this.takeAll(remaining, attempt >= 2 ? collided : new Set(), attempt === 2);
      remaining = new Map();
      collided = new Set();
      if (taken.length === 0) return;
      this.contended = false;
      this.inserting = true;
      let outcome: InsertOutcome;
      try {
        outcome = await this.insert(taken.flatMap((group) => group.attempts));
      } finally {
        this.inserting = false;
      }
      for (const { channel, position, attempts } of taken) {
        if (position.seq > this.retention.maxMessages) {
          this.untrimmed.set(channel, Math.max(this.untrimmed.get(channel) ?? 0, position.seq));
        }
        if (outcome.unknown) {
          // Whether they are stored cannot be told: not acknowledged. Stored ones still reach
          // subscribers (the order has them); missing ones are closed by whoever meets the gap.
          rejectAll(
            attempts.map((entry) => entry.write),
            new StoreUnavailableError(SssMessages.storeFailed, outcome.error),
          );
          continue;
        }
        const unstored: Attempt[] = [];
        // In seq order, so that each channel's fan-out leaves in order.
        for (const entry of attempts) {
          const stored = outcome.stored.get(entry.document.i);
          if (stored) entry.write.resolve(stored);
          else unstored.push(entry);
        }
        if (unstored.length === 0) continue;
        // Close the seqs this writer took and did not fill, so that nobody waits for them.
        const seqs = unstored.map((entry) => entry.document.s);
        await this.closeSeqs(channel, position.epoch, seqs).catch(() => undefined);
        const writes = unstored.map((entry) => entry.write);
        if (isDuplicateKey(outcome.error)) {
          remaining.set(channel, writes);
          collided.add(channel);
        } else {
          this.logger.warn(`${SssMessages.storeFailed} ${errorMessage(outcome.error)}`);
          rejectAll(writes, new StoreUnavailableError(SssMessages.storeFailed, outcome.error));
        }
      }
    }
    for (const writes of remaining.values()) rejectAll(writes, new StoreUnavailableError(SssMessages.storeContention));
  }

  private buildAttempts(channel: string, writes: PendingWrite[], position: ChannelPosition): Attempt[] {
    const first = position.seq - writes.length + 1;
    const now = new Date();
    return writes.map((write, index) => {
      const document: Attempt['document'] = {
        _id: messageKey(channel, first + index),
        i: `${this.identityPrefix}${(this.identityCount++).toString(36)}`,
        c: channel,
        s: first + index,
        e: position.epoch,
        t: write.topic,
        at: now,
      };
      if (write.json !== undefined) document.j = write.json;
      if (write.exceptSocketId !== undefined) document.x = write.exceptSocketId;
      return { write, document };
    });
  }

  /**
   * Inserts the documents and tells which are stored, by identity → position. After any error
   * the answer comes from reading their keys back; `unknown` when even that failed.
   */
  private async insert(attempts: Attempt[]): Promise<InsertOutcome> {
    const documents = attempts.map((entry) => entry.document);
    const stored = new Map<string, ChannelPosition>();
    let insertError: unknown;
    try {
      // Unordered: a collision on one seq does not hold back the other messages (of any channel).
      const result = await this.messages.insertMany(documents, { ordered: false });
      if (result.acknowledged && result.insertedCount === documents.length) {
        for (const document of documents) stored.set(document.i, { epoch: document.e, seq: document.s });
        return { stored };
      }
      insertError = new Error(`the store acknowledged ${result.insertedCount} of ${documents.length} documents`);
    } catch (error) {
      insertError = error;
    }
    try {
      const held = await byKey(
        this.messages,
        documents.map((document) => document._id),
      );
      for (const document of documents) {
        // The key may hold another writer's message or a placeholder: only our identity counts.
        if (held.get(document._id)?.i === document.i) stored.set(document.i, { epoch: document.e, seq: document.s });
      }
      return { stored, error: insertError };
    } catch {
      return { stored, error: insertError, unknown: true };
    }
  }

  /**
   * Takes the seqs of each channel's writes (one Redis script for all channels on a standalone
   * Redis) and builds their documents. A channel that fails here has its writes rejected.
   * @param raise channels that keep colliding: their counter may be behind what is stored (Redis
   *   lost increments in a failover); it is moved past the newest stored message first
   * @param raiseToKnown raise first to where this instance has seen the channel (else: the store says)
   */
  private async takeAll(
    groups: Map<string, PendingWrite[]>,
    raise: Set<string>,
    raiseToKnown: boolean,
  ): Promise<Array<{ channel: string; position: ChannelPosition; attempts: Attempt[] }>> {
    const fail = (writes: PendingWrite[], error: unknown) => {
      this.logger.warn(`${SssMessages.storeFailed} ${errorMessage(error)}`);
      rejectAll(writes, new StoreUnavailableError(SssMessages.storeFailed, error));
    };
    const ready: Array<{ channel: string; count: number; writes: PendingWrite[]; epoch: string }> = [];
    await Promise.all(
      [...groups].map(async ([channel, writes]) => {
        try {
          const epoch = await this.epochOf(channel);
          if (raise.has(channel)) {
            const known = raiseToKnown ? this.knownSeq(channel) : undefined;
            await this.counter.raise(channel, known ?? (await this.lastStoredSeq(channel)));
          }
          ready.push({ channel, count: writes.length, writes, epoch });
        } catch (error) {
          fail(writes, error);
        }
      }),
    );
    if (ready.length === 0) return [];
    let lasts: Array<number | undefined>;
    try {
      lasts = await this.counter.takeMany(ready);
    } catch (error) {
      for (const { writes } of ready) fail(writes, error);
      return [];
    }
    const taken = await Promise.all(
      ready.map(async ({ channel, count, writes, epoch }, index) => {
        try {
          let last = lasts[index];
          if (last === undefined) {
            await this.seedCounter(channel);
            last = await this.counter.take(channel, count);
            if (last === undefined) throw new Error(`the seq counter of ${channel} could not be seeded`);
          }
          if (this.takenSeqs.size >= MAX_CACHED_EPOCHS && !this.takenSeqs.has(channel)) {
            this.takenSeqs.delete(this.takenSeqs.keys().next().value!);
          }
          this.takenSeqs.set(channel, Math.max(this.takenSeqs.get(channel) ?? 0, last));
          const position = { epoch, seq: last };
          return { channel, position, attempts: this.buildAttempts(channel, writes, position) };
        } catch (error) {
          fail(writes, error);
          return undefined;
        }
      }),
    );
    return taken.filter((group) => group !== undefined);
  }

  /**
   * The channel's epoch, from its document (created on first use); cached, as it never changes.
   * Channels met at about the same time (many subscriptions at once, a restarted instance) are
   * looked up together: on FerretDB every query scans the whole collection, so one query per
   * channel made setting up 10,000 channels take minutes.
   */
  private epochOf(channel: string): Promise<string> {
    const cached = this.epochs.get(channel);
    if (cached !== undefined) return Promise.resolve(cached);
    let lookup = this.epochLookups.get(channel);
    if (!lookup) {
      lookup = new Promise<string>((resolve, reject) => this.epochBatch.set(channel, { resolve, reject }));
      this.epochLookups.set(channel, lookup);
      // One lookup at a time: the channels met while one runs go together in the next.
      if (!this.epochLookupRunning) this.epochBatchTimer ??= setImmediate(() => void this.lookUpEpochs());
    }
    return lookup;
  }

  private async lookUpEpochs(): Promise<void> {
    const batch = this.epochBatch;
    this.epochBatch = new Map();
    this.epochBatchTimer = undefined;
    this.epochLookupRunning = true;
    const names = [...batch.keys()];
    let insertError: unknown;
    try {
      // Inserted first, read after: a new channel (the common case among lookups) costs no read,
      // and an existing one a refused insert (cheap) and one read, as it would have anyway.
      const created = new Map(names.map((name) => [name, randomUUID()]));
      const documents = names.map((name) => ({ _id: name, e: created.get(name)!, s: 0 }));
      // Every document acknowledged as inserted is ours. Otherwise (another instance created some,
      // or an insert failed in part) what is stored decides, whatever the answer said.
      const insertedAll = await this.channels.insertMany(documents, { ordered: false }).then(
        (result) => result.acknowledged && result.insertedCount === documents.length,
        (error: unknown) => {
          insertError = error;
          return false;
        },
      );
      const found = insertedAll ? created : await this.readChannels(names);
      const seeds: Array<Promise<void>> = [];
      for (const [name, epoch] of found) {
        // Created here, so nothing was ever stored under it: its counter starts at 0 without the
        // scan that seeds lost counters (NX: a counter someone already took from stays).
        if (epoch === created.get(name)) seeds.push(this.counter.seed(name, 0));
      }
      await Promise.all(seeds);
      for (const [name, { resolve, reject }] of batch) {
        const epoch = found.get(name);
        if (epoch === undefined) {
          reject(insertError ?? new Error(`the store kept no document for channel ${name}`));
          continue;
        }
        if (this.epochs.size >= MAX_CACHED_EPOCHS) this.epochs.delete(this.epochs.keys().next().value!);
        this.epochs.set(name, epoch);
        resolve(epoch);
      }
    } catch (error) {
      for (const { reject } of batch.values()) reject(error);
    } finally {
      for (const name of names) this.epochLookups.delete(name);
      this.epochLookupRunning = false;
      if (this.epochBatch.size > 0) void this.lookUpEpochs();
    }
  }

  /**
   * The epochs of the channels whose documents exist, by name: a few names by key, many in one
   * `$in` query. FerretDB 1.x scans the whole collection for `$in`, even on `_id` (0.3 s at 10,000
   * channels), and takes about 2 ms per lookup by key: the cheaper of the two.
   */
  private async readChannels(names: string[]): Promise<Map<string, string>> {
    if (names.length <= MAX_KEY_LOOKUPS) {
      const documents = await byKey(this.channels, names);
      return new Map([...documents].map(([name, document]) => [name, document.e]));
    }
    const documents = await this.channels.find({ _id: { $in: names } }, { projection: { e: 1 } }).toArray();
    return new Map(documents.map((document) => [document._id, document.e]));
  }

  /**
   * Seeds a missing counter with the last stored seq. Redis loses every counter at once (a
   * restart), so one read finds the last seq of every channel and seeds them all: a scan on
   * FerretDB, done by one instance (a turn taken in Redis) while the others wait for it, and once
   * per process however many channels and callers need it.
   */
  private async seedCounter(channel: string): Promise<void> {
    const known = this.knownSeq(channel);
    if (known !== undefined) {
      // A channel this instance follows: where it was a moment ago is known here, without a scan.
      // Raised, not set if missing: every follower raises it to what it saw or took, so that the
      // seqs in flight when Redis went down are not handed out again (a collision costs its
      // writer a read-back of its whole batch). Messages stored above all of that still collide,
      // which moves the counter past them.
      return this.counter.raise(channel, known);
    }
    // The instances that follow the channel seed it from memory as soon as Redis is back
    // (`reseedFollowed`): a moment's wait for them saves a scan.
    for (let waited = 0; waited < FOLLOWER_SEED_WAIT_MS; waited += SEED_POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, SEED_POLL_MS));
      if ((await this.counter.peek(channel)) !== undefined) return;
    }
    this.seeding ??= this.seedAllOnce().finally(() => (this.seeding = undefined));
    return this.seeding.then(async (readHere) => {
      if ((await this.counter.peek(channel)) !== undefined) return;
      // Another instance's read may have come before this counter was lost: read here too.
      if (!readHere) {
        this.ownSeeding ??= this.seedAll().finally(() => (this.ownSeeding = undefined));
        await this.ownSeeding;
      }
      // Not in the store: nothing was ever stored under this channel.
      if ((await this.counter.peek(channel)) === undefined) await this.counter.seed(channel, 0);
    });
  }

  /**
   * Seeds the counters Redis lost of the channels this instance follows, from what it has seen
   * or taken of them (raised, never lowered: a counter that is ahead is kept). Called when the
   * Redis connection comes back, so that instances that do not follow a channel find its counter
   * there.
   */
  async reseedFollowed(channels: Iterable<string>): Promise<void> {
    const seeds: Array<Promise<void>> = [];
    for (const channel of channels) {
      const known = this.knownSeq(channel);
      if (known !== undefined) seeds.push(this.counter.raise(channel, known));
    }
    await Promise.all(seeds);
  }

  /**
   * The newest seq known here of a channel this instance follows (seen by its stream, or taken by
   * this process); undefined when it does not follow the channel.
   */
  private knownSeq(channel: string): number | undefined {
    const followed = this.followedSeq(channel);
    return followed === undefined ? undefined : Math.max(followed, this.takenSeqs.get(channel) ?? 0);
  }

  /**
   * Seeds every counter, or waits for the instance whose turn it is (and seeds alone if it does
   * not finish); resolves with whether this process read the store itself.
   */
  private async seedAllOnce(): Promise<boolean> {
    const mine = randomUUID();
    const turn = await this.counter.takeSeedTurn(mine, SEED_TURN_MS);
    if (turn === mine) {
      await this.seedAll();
      await this.counter.markSeeded(mine, SEED_TURN_MS);
      return true;
    }
    for (const deadline = Date.now() + SEED_TURN_MS; turn !== undefined && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, SEED_POLL_MS));
      if (await this.counter.seeded(turn)) return false;
    }
    await this.seedAll();
    return true;
  }

  private async seedAll(): Promise<void> {
    const last = new Map<string, number>();
    for (const document of await this.channels.find({}, { projection: { s: 1 } }).toArray()) {
      last.set(document._id, document.s);
    }
    // NOTE: a projection of every message rather than `$group`/`$max`, which FerretDB 1.x lacks.
    const stored = this.messages.find({}, { projection: { _id: 0, c: 1, s: 1 } });
    for await (const { c, s } of stored) last.set(c, Math.max(last.get(c) ?? 0, s));
    await Promise.all([...last].map(([channel, seq]) => this.counter.seed(channel, seq)));
  }

  /** The last stored seq: the channel document's bound or the newest message, whichever is higher. */
  private async lastStoredSeq(channel: string): Promise<number> {
    const [document, newest] = await Promise.all([
      this.channels.findOne({ _id: channel }),
      this.messages.find({ c: channel }).sort({ s: -1 }).limit(1).project<{ s: number }>({ s: 1 }).toArray(),
    ]);
    return Math.max(document?.s ?? 0, newest[0]?.s ?? 0);
  }

  /**
   * Deletes what count-based retention no longer keeps in the channels written since this
   * process last trimmed. NOTE: FerretDB scans the whole collection for any delete, even one by
   * `_id`, and holds its write lock meanwhile, which stalls inserts (at 10,000 messages, 1,000
   * deletes by key took 53 s, one delete by range 0.5 s): one instance at a time trims (a turn
   * taken in Redis per interval), with one delete by range per `TRIM_CHANNELS_PER_DELETE` channels.
   * The newest `maxMessages` of a channel stay, so its newest stored message (its seq bound) does.
   */
  private async trimByCount(): Promise<void> {
    if (!this.connection.db || this.untrimmed.size === 0) return;
    if (!(await this.counter.takeTrimTurn('count', COUNT_TRIM_INTERVAL_MS).catch(() => false))) return;
    const { maxMessages } = this.retention;
    const over = [...this.untrimmed];
    this.untrimmed.clear();
    for (let start = 0; start < over.length; start += TRIM_CHANNELS_PER_DELETE) {
      const clauses = over
        .slice(start, start + TRIM_CHANNELS_PER_DELETE)
        .map(([channel, seq]) => ({ c: channel, s: { $lte: seq - maxMessages } }));
      await this.messages.deleteMany(clauses.length === 1 ? clauses[0] : { $or: clauses }).catch(() => undefined);
    }
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw asStoreError(error, this.logger);
    }
  }
}

/** A message read from the store, with when it was stored. */
export interface StoredMessage {
  message: ScalerMessage;
  storedAt: number;
}

function toStoredMessage(document: MessageDocument): StoredMessage {
  const message: ScalerMessage = {
    channel: document.c,
    topic: document.t,
    data: document.j !== undefined ? JSON.parse(document.j) : document.d,
    seq: document.s,
    epoch: document.e,
  };
  if (document.x !== undefined) message.exceptSocketId = document.x;
  if (document.p === 1) message.placeholder = true;
  return { message, storedAt: document.at instanceof Date ? document.at.getTime() : Date.now() };
}

function groupByChannel(batch: QueuedWrite[]): Map<string, PendingWrite[]> {
  const groups = new Map<string, PendingWrite[]>();
  for (const { channel, write } of batch) {
    const group = groups.get(channel);
    if (group) group.push(write);
    else groups.set(channel, [write]);
  }
  return groups;
}

/** The documents of `collection` under `keys`, by key, each looked up by `_id` alone (a few at a time). */
async function byKey<T extends { _id: unknown }>(
  collection: mongo.Collection<T>,
  keys: string[],
): Promise<Map<string, mongo.WithId<T>>> {
  const found = new Map<string, mongo.WithId<T>>();
  let next = 0;
  const lookUp = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++];
      const document = await collection.findOne({ _id: key } as mongo.Filter<T>);
      if (document) found.set(key, document);
    }
  };
  await Promise.all(Array.from({ length: Math.min(KEY_READ_CONCURRENCY, keys.length) }, lookUp));
  return found;
}

function rejectAll(writes: PendingWrite[], error: Error): void {
  for (const write of writes) write.reject(error);
}

function asStoreError(error: unknown, logger: Logger): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  logger.warn(`${SssMessages.storeReadFailed} ${errorMessage(error)}`);
  return new StoreUnavailableError(SssMessages.storeUnavailable, error);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isDuplicateKey(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, writeErrors } = error as { code?: number; writeErrors?: Array<{ code?: number }> | { code?: number } };
  if (code === DUPLICATE_KEY) return true;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.some((writeError) => writeError.code === DUPLICATE_KEY);
}
