import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { mongo, type Connection } from 'mongoose';
import { StoreUnavailableError } from '../../errors/store-unavailable.error.js';
import type { SssRetention } from '../../interfaces/sss-module-options.interface.js';
import type { ChannelPosition } from '../../protocol/frames.js';
import { SssMessages } from '../../sss.messages.js';
import type { ScalerMessage } from '../scaler.interface.js';
import type { RedisSeqCounter } from './redis-seq.counter.js';

/** A stored message; short field names keep documents and indexes small. */
interface MessageDocument {
  /** Given before the insert, so that what was stored can be read back whatever the store reported. */
  _id: mongo.ObjectId;
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

/** One document per channel: its epoch, and a lower bound of its last stored seq. */
interface ChannelDocument {
  _id: string;
  e: string;
  s: number;
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
  document: MessageDocument;
}

const DUPLICATE_KEY = 11000;
const MAX_WRITE_ATTEMPTS = 8;
/** How often the channels written meanwhile have their seq bound raised and are trimmed to retention. */
const BOUND_INTERVAL_MS = 5_000;
/** Channels trimmed by one delete. */
const TRIM_CHANNELS_PER_DELETE = 100;
/** Epochs remembered (they never change while the channel document exists). */
const MAX_CACHED_EPOCHS = 10_000;

/**
 * Channel history in MongoDB, and the arbiter of every channel's order.
 *
 * A writer takes a range of candidate seqs from an atomic counter (`RedisSeqCounter`, seeded from
 * the store), then inserts its messages under them; the unique `(channel, seq)` index guarantees
 * that a seq holds at most one document. Every message carries an `_id` chosen before the insert:
 * after any failed or partial insert, the writer reads back which of its messages are stored and
 * settles each publish from that, never from a count the store or driver reported (FerretDB 1.x,
 * for one, reports counts that do not mean "the first N are stored"). A seq that was taken but
 * never stored (a failed insert, a crashed publisher) is closed with a placeholder, inserted under
 * the same unique index, so that exactly one of "the message" and "the placeholder" holds it and
 * every instance agrees.
 *
 * The channel document holds the epoch, which outlives Redis, and a lower bound of the last stored
 * seq, which outlives age-based retention: the counter is seeded from it and the newest message.
 *
 * A process has one insert in flight at a time; what is queued meanwhile, of every channel, goes in
 * the next one, which batches writes under load. Everything on the hot path uses the driver directly (no casting).
 */
export class MessageStore {
  /** Writes waiting for the insert in flight to finish; they go together in the next one. */
  private readonly queue: QueuedWrite[] = [];
  private writing = false;
  /** The last seq taken per channel since the channel documents were last raised. */
  private readonly bounds = new Map<string, number>();
  private boundsTimer?: NodeJS.Timeout;
  /** Channels with messages beyond retention, and their last seq, waiting for this process's turn to trim. */
  private readonly untrimmed = new Map<string, number>();
  private readonly epochs = new Map<string, string>();
  /** Epoch lookups in flight, and the channels of the next batched lookup. */
  private readonly epochLookups = new Map<string, Promise<string>>();
  private epochBatch = new Map<string, { resolve: (epoch: string) => void; reject: (error: unknown) => void }>();
  private epochBatchTimer?: NodeJS.Immediate;
  private epochLookupRunning = false;
  /** The read that seeds every lost counter, while it runs. */
  private seeding?: Promise<void>;
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
  ) {
    this.messagesName = `${prefix}_messages`;
    this.channelsName = `${prefix}_channels`;
  }

  /** Waits for the connection and creates the indexes the order and the retention rely on. */
  async createIndexes(): Promise<void> {
    if (!this.connection.db) await this.connection.asPromise();
    await this.messages.createIndex({ c: 1, s: 1 }, { unique: true });
    await this.messages.createIndex({ at: 1 });
  }

  /** Stops the periodic work; what is queued is rejected with `error`. */
  async close(error: Error): Promise<void> {
    clearInterval(this.boundsTimer);
    this.boundsTimer = undefined;
    await this.raiseBounds();
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
    if (!this.boundsTimer) {
      this.boundsTimer = setInterval(() => void this.raiseBounds(), BOUND_INTERVAL_MS);
      this.boundsTimer.unref();
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

  /** Stored messages (and placeholders) with `after < seq <= upTo`, in order, at most `limit`. */
  async messagesBetween(channel: string, after: number, upTo: number, limit: number): Promise<StoredMessage[]> {
    return this.guard(async () => {
      const documents = await this.messages
        .find({ c: channel, s: { $gt: after, $lte: upTo } })
        .sort({ s: 1 })
        .limit(limit)
        .toArray();
      return documents.map(toStoredMessage);
    });
  }

  /**
   * Closes seqs that were taken but hold nothing, with placeholders. A seq whose message is stored
   * meanwhile keeps its message: the unique index refuses the placeholder.
   */
  async closeSeqs(channel: string, epoch: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    const now = new Date();
    const placeholders = seqs.map((seq): MessageDocument => ({
      _id: new mongo.ObjectId(),
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

  /** Deletes messages older than the retention age (count-based trimming happens on write). */
  async trimByAge(): Promise<void> {
    await this.messages.deleteMany({ at: { $lt: new Date(Date.now() - this.retention.maxAgeMs) } });
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
      const groups = await Promise.all(
        [...remaining].map(async ([channel, writes]) => {
          try {
            // Colliding again: the counter may be behind what is stored (Redis lost increments
            // in a failover); move it past the newest stored message.
            if (attempt >= 2 && collided.has(channel)) {
              await this.counter.raise(channel, await this.lastStoredSeq(channel));
            }
            const position = await this.takeSeqs(channel, writes.length);
            return { channel, position, attempts: this.buildAttempts(channel, writes, position) };
          } catch (error) {
            this.logger.warn(`${SssMessages.storeFailed} ${errorMessage(error)}`);
            rejectAll(writes, new StoreUnavailableError(SssMessages.storeFailed, error));
            return undefined;
          }
        }),
      );
      const taken = groups.filter((group) => group !== undefined);
      remaining = new Map();
      collided = new Set();
      if (taken.length === 0) return;
      const outcome = await this.insert(taken.flatMap((group) => group.attempts));
      for (const { channel, position, attempts } of taken) {
        this.bounds.set(channel, Math.max(this.bounds.get(channel) ?? 0, position.seq));
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
          const stored = outcome.stored.get(entry.document._id.toHexString());
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
      const document: MessageDocument = {
        _id: new mongo.ObjectId(),
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
   * Inserts the documents in order and tells which are stored, by `_id` → position. After any
   * error the answer comes from reading them back; `unknown` when even that failed.
   */
  private async insert(
    attempts: Attempt[],
  ): Promise<{ stored: Map<string, ChannelPosition>; error?: unknown; unknown?: boolean }> {
    const documents = attempts.map((entry) => entry.document);
    const stored = new Map<string, ChannelPosition>();
    let insertError: unknown;
    try {
      // Unordered: a collision on one seq does not hold back the other messages (of any channel).
      const result = await this.messages.insertMany(documents, { ordered: false });
      if (result.acknowledged && result.insertedCount === documents.length) {
        for (const document of documents)
          stored.set(document._id.toHexString(), { epoch: document.e, seq: document.s });
        return { stored };
      }
      insertError = new Error(`the store acknowledged ${result.insertedCount} of ${documents.length} documents`);
    } catch (error) {
      insertError = error;
    }
    try {
      const found = await this.messages
        .find({ _id: { $in: documents.map((document) => document._id) } }, { projection: { s: 1, e: 1 } })
        .toArray();
      for (const document of found) stored.set(document._id.toHexString(), { epoch: document.e, seq: document.s });
      return { stored, error: insertError };
    } catch {
      return { stored, error: insertError, unknown: true };
    }
  }

  /** Takes `count` consecutive seqs: resolves with the epoch and the last of them. */
  private async takeSeqs(channel: string, count: number): Promise<ChannelPosition> {
    const epoch = await this.epochOf(channel);
    let last = await this.counter.take(channel, count);
    if (last === undefined) {
      await this.seedCounter(channel);
      last = await this.counter.take(channel, count);
      if (last === undefined) throw new Error(`the seq counter of ${channel} could not be seeded`);
    }
    return { epoch, seq: last };
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
      const found = await this.readChannels(names);
      const missing = names.filter((name) => !found.has(name));
      if (missing.length > 0) {
        const created = new Map(missing.map((name) => [name, randomUUID()]));
        // Another instance may create some of them meanwhile, and an insert may fail in part:
        // whatever the answer, what is stored decides.
        insertError = await this.channels
          .insertMany(
            missing.map((name) => ({ _id: name, e: created.get(name)!, s: 0 })),
            { ordered: false },
          )
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        for (const [name, epoch] of await this.readChannels(missing)) {
          found.set(name, epoch);
          // Created here, so nothing was ever stored under it: its counter starts at 0 without
          // the scan that seeds lost counters (NX: a counter someone already took from stays).
          if (epoch === created.get(name)) await this.counter.seed(name, 0);
        }
      }
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

  /** The epochs of the channels whose documents exist, by name. */
  private async readChannels(names: string[]): Promise<Map<string, string>> {
    const documents = await this.channels.find({ _id: { $in: names } }, { projection: { e: 1 } }).toArray();
    return new Map(documents.map((document) => [document._id, document.e]));
  }

  /**
   * Seeds a missing counter with the last stored seq. Redis loses every counter at once (a
   * restart), so one read finds the last seq of every channel and seeds them all: a scan on
   * FerretDB, done once per process however many channels and callers need it.
   */
  private seedCounter(channel: string): Promise<void> {
    this.seeding ??= this.seedAll().finally(() => (this.seeding = undefined));
    return this.seeding.then(async () => {
      if ((await this.counter.peek(channel)) === undefined) await this.counter.seed(channel, 0);
    });
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
   * Raises the channel documents' seq bound to the last seq taken (best effort, one round trip
   * for all channels written meanwhile): the bound seeds a lost counter, so it must never be above
   * a seq that was taken, and recent enough that age-based retention never deletes past it.
   */
  private async raiseBounds(): Promise<void> {
    if (this.bounds.size === 0 || !this.connection.db) return;
    const written = [...this.bounds];
    this.bounds.clear();
    const updates = written.map(([channel, seq]) => ({
      updateOne: { filter: { _id: channel }, update: { $max: { s: seq } } },
    }));
    await this.channels.bulkWrite(updates, { ordered: false }).catch(() => undefined);
    await this.trimByCount(written);
  }

  /**
   * Deletes what count-based retention no longer keeps in the channels written since this
   * process last trimmed. NOTE: FerretDB scans the whole collection for any delete and holds its
   * write lock meanwhile, which stalls inserts: one instance at a time trims (a turn taken in
   * Redis per interval), with one delete per `TRIM_CHANNELS_PER_DELETE` channels.
   */
  private async trimByCount(written: Array<[string, number]>): Promise<void> {
    const { maxMessages } = this.retention;
    for (const [channel, seq] of written) {
      if (seq > maxMessages) this.untrimmed.set(channel, Math.max(this.untrimmed.get(channel) ?? 0, seq));
    }
    if (this.untrimmed.size === 0 || !(await this.counter.takeTrimTurn(BOUND_INTERVAL_MS).catch(() => false))) return;
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
