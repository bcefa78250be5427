import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Schema, type Connection, type Model } from 'mongoose';
import { StoreUnavailableError } from '../../errors/store-unavailable.error.js';
import type { SssRetention } from '../../interfaces/sss-module-options.interface.js';
import type { ChannelPosition } from '../../protocol/frames.js';
import { SssMessages } from '../../sss.messages.js';
import type { HistorySince, ScalerMessage } from '../scaler.interface.js';

/** A stored message; short field names keep documents and indexes small. */
interface MessageDocument {
  /** channel */
  c: string;
  /** seq */
  s: number;
  /** epoch */
  e: string;
  /** topic */
  t: string;
  /** data */
  d?: unknown;
  /** socket id excluded from live delivery */
  x?: string;
  /** stored at (age-based retention) */
  at: Date;
}

/** One document per channel: its epoch, and a lower bound of its last seq. */
interface ChannelDocument {
  _id: string;
  e: string;
  s: number;
}

/** A message waiting to be written. */
export interface PendingWrite {
  topic: string;
  data: unknown;
  exceptSocketId?: string;
  resolve(message: ScalerMessage): void;
  reject(error: Error): void;
}

interface ChannelWriter {
  queue: PendingWrite[];
  writing: boolean;
  /** The channel's epoch and the last seq this process knows of; undefined until loaded. */
  position?: ChannelPosition;
}

const DUPLICATE_KEY = 11000;
const MAX_WRITE_ATTEMPTS = 8;

/**
 * Channel history in MongoDB, and the source of every channel's order: a message's seq is taken
 * by inserting it under a unique (channel, seq) index, so a seq exists only once its message is
 * stored, and two writers can never take the same one. A writer that loses the race re-reads the
 * channel's position and tries the next seq. Writes of one channel from one process are queued
 * and sent as one ordered insert per round trip, which batches them under load.
 */
export class MessageStore {
  private readonly messages: Model<MessageDocument>;
  private readonly channels: Model<ChannelDocument>;
  private readonly writers = new Map<string, ChannelWriter>();
  private readonly logger = new Logger('SssMessageStore');

  constructor(
    connection: Connection,
    prefix: string,
    private readonly retention: Required<SssRetention>,
    private readonly maxBatchSize: number,
  ) {
    const modelPrefix = prefix.charAt(0).toUpperCase() + prefix.slice(1);
    const messageSchema = new Schema<MessageDocument>(
      {
        c: { type: String, required: true },
        s: { type: Number, required: true },
        e: { type: String, required: true },
        t: { type: String, required: true },
        d: { type: Schema.Types.Mixed },
        x: { type: String },
        at: { type: Date, required: true },
      },
      { versionKey: false, autoIndex: false },
    );
    messageSchema.index({ c: 1, s: 1 }, { unique: true });
    messageSchema.index({ at: 1 });
    const channelSchema = new Schema<ChannelDocument>(
      { _id: { type: String }, e: { type: String, required: true }, s: { type: Number, required: true } },
      { versionKey: false, autoIndex: false },
    );
    this.messages = reuseModel(connection, `${modelPrefix}Message`, messageSchema, `${prefix}_messages`);
    this.channels = reuseModel(connection, `${modelPrefix}Channel`, channelSchema, `${prefix}_channels`);
  }

  /** Creates the indexes the order and the retention rely on. */
  async createIndexes(): Promise<void> {
    await this.messages.createIndexes();
  }

  /** Queues a message; resolves once it is stored, with its place in the channel's order. */
  write(channel: string, write: PendingWrite): void {
    let writer = this.writers.get(channel);
    if (!writer) {
      writer = { queue: [], writing: false };
      this.writers.set(channel, writer);
    }
    writer.queue.push(write);
    if (!writer.writing) void this.drain(channel, writer);
  }

  /** Tells the writer of a channel about a seq seen elsewhere, so that its next insert does not collide. */
  observe(channel: string, epoch: string, seq: number): void {
    const position = this.writers.get(channel)?.position;
    if (position && position.epoch === epoch && position.seq < seq) position.seq = seq;
  }

  /** The channel's epoch and last seq, creating the channel (and its epoch) on first use. */
  async position(channel: string): Promise<ChannelPosition> {
    return this.guard(async () => {
      const [meta, latest] = await Promise.all([this.ensureChannel(channel), this.latestMessage(channel)]);
      if (latest && latest.e === meta.e) return { epoch: meta.e, seq: Math.max(meta.s, latest.s) };
      return { epoch: meta.e, seq: meta.s };
    });
  }

  /** Messages after `seq`, in order (at most `limit`). */
  async messagesAfter(channel: string, seq: number, limit: number): Promise<ScalerMessage[]> {
    return this.guard(async () => {
      const documents = await this.messages
        .find({ c: channel, s: { $gt: seq } })
        .sort({ s: 1 })
        .limit(limit)
        .lean<MessageDocument[]>()
        .exec();
      return documents.map(toMessage);
    });
  }

  /** Every stored message after `since`, or why they cannot all be given. */
  async historySince(channel: string, since: ChannelPosition): Promise<HistorySince> {
    const position = await this.position(channel);
    if (since.epoch !== position.epoch) return { recovered: false, reason: 'epoch_changed', position };
    if (since.seq > position.seq) return { recovered: false, reason: 'invalid_position', position };
    const missed = position.seq - since.seq;
    if (missed === 0) return { recovered: true, epoch: position.epoch, messages: [] };
    if (missed > this.retention.maxMessages) return { recovered: false, reason: 'out_of_retention', position };
    const messages = await this.messagesAfter(channel, since.seq, missed);
    const gapless = messages.every((message, index) => message.seq === since.seq + 1 + index);
    if (!gapless || messages.length < missed) return { recovered: false, reason: 'out_of_retention', position };
    return { recovered: true, epoch: position.epoch, messages };
  }

  /** Deletes messages older than the retention age (count-based trimming happens on write). */
  async trimByAge(): Promise<void> {
    await this.messages.deleteMany({ at: { $lt: new Date(Date.now() - this.retention.maxAgeMs) } }).exec();
  }

  private async drain(channel: string, writer: ChannelWriter): Promise<void> {
    writer.writing = true;
    while (writer.queue.length > 0) {
      const batch = writer.queue.splice(0, this.maxBatchSize);
      await this.writeBatch(channel, writer, batch);
    }
    writer.writing = false;
  }

  private async writeBatch(channel: string, writer: ChannelWriter, batch: PendingWrite[]): Promise<void> {
    let remaining = batch;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS && remaining.length > 0; attempt++) {
      try {
        writer.position ??= await this.position(channel);
      } catch (error) {
        return rejectAll(remaining, error as Error);
      }
      const { epoch, seq } = writer.position;
      const now = new Date();
      const documents = remaining.map((write, index): MessageDocument => {
        const document: MessageDocument = { c: channel, s: seq + 1 + index, e: epoch, t: write.topic, at: now };
        if (write.data !== undefined) document.d = write.data;
        if (write.exceptSocketId !== undefined) document.x = write.exceptSocketId;
        return document;
      });
      let stored = documents.length;
      let collided = false;
      try {
        await this.messages.insertMany(documents, { ordered: true, lean: true });
      } catch (error) {
        // An ordered insert stops at the first failure: everything before it is stored.
        stored = insertedCount(error);
        collided = isDuplicateKey(error);
        if (!collided) {
          writer.position = undefined;
          this.logger.warn(`${SssMessages.storeFailed} ${(error as Error).message}`);
          settle(remaining.slice(0, stored), documents);
          return rejectAll(remaining.slice(stored), new StoreUnavailableError(SssMessages.storeFailed, error));
        }
      }
      settle(remaining.slice(0, stored), documents);
      remaining = remaining.slice(stored);
      if (stored > 0) this.afterInsert(channel, epoch, seq, seq + stored);
      // Another writer took the next seq: learn the channel's real position and try again.
      writer.position = collided ? undefined : { epoch, seq: seq + stored };
    }
    rejectAll(remaining, new StoreUnavailableError(SssMessages.storeContention));
  }

  /** After seqs `previousSeq + 1` to `lastSeq` were stored. */
  private afterInsert(channel: string, epoch: string, previousSeq: number, lastSeq: number): void {
    // Best effort: the channel document only has to be a lower bound of the last seq.
    void this.channels
      .updateOne({ _id: channel, e: epoch }, { $max: { s: lastSeq } })
      .exec()
      .catch(() => undefined);
    const { maxMessages } = this.retention;
    const trimEvery = Math.max(1, Math.ceil(maxMessages / 10));
    // Every `trimEvery` seqs; a batch may cross such a boundary without ending on it.
    if (Math.floor(lastSeq / trimEvery) !== Math.floor(previousSeq / trimEvery) && lastSeq > maxMessages) {
      void this.messages
        .deleteMany({ c: channel, s: { $lte: lastSeq - maxMessages } })
        .exec()
        .catch(() => undefined);
    }
  }

  /**
   * The channel document, created on first use. When it is missing but messages remain (it was
   * deleted), it is re-created from the newest message, so that the epoch survives.
   */
  private async ensureChannel(channel: string): Promise<ChannelDocument> {
    const existing = await this.channels.findById(channel).lean<ChannelDocument>().exec();
    if (existing) return existing;
    const latest = await this.latestMessage(channel);
    try {
      const created = await this.channels
        .findOneAndUpdate(
          { _id: channel },
          { $setOnInsert: { e: latest?.e ?? randomUUID(), s: latest?.s ?? 0 } },
          { upsert: true, returnDocument: 'after' },
        )
        .lean<ChannelDocument>()
        .exec();
      return created!;
    } catch (error) {
      // Two upserts raced and the other one created it: read theirs.
      if (!isDuplicateKey(error)) throw error;
      const raced = await this.channels.findById(channel).lean<ChannelDocument>().exec();
      if (!raced) throw error;
      return raced;
    }
  }

  private latestMessage(channel: string): Promise<MessageDocument | null> {
    return this.messages.findOne({ c: channel }).sort({ s: -1 }).lean<MessageDocument>().exec();
  }

  private async guard<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      this.logger.warn(`${SssMessages.storeReadFailed} ${(error as Error).message}`);
      throw new StoreUnavailableError(SssMessages.storeReadFailed, error);
    }
  }
}

function reuseModel<T>(connection: Connection, name: string, schema: Schema<T>, collection: string): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema, collection);
}

function toMessage(document: MessageDocument): ScalerMessage {
  const message: ScalerMessage = {
    channel: document.c,
    topic: document.t,
    data: document.d,
    seq: document.s,
    epoch: document.e,
  };
  if (document.x !== undefined) message.exceptSocketId = document.x;
  return message;
}

function settle(writes: PendingWrite[], documents: MessageDocument[]): void {
  writes.forEach((write, index) => write.resolve(toMessage(documents[index])));
}

function rejectAll(writes: PendingWrite[], error: Error): void {
  for (const write of writes) write.reject(error);
}

function isDuplicateKey(error: unknown): boolean {
  const { code, writeErrors } = error as { code?: number; writeErrors?: Array<{ code?: number }> };
  return code === DUPLICATE_KEY || (writeErrors ?? []).some((writeError) => writeError.code === DUPLICATE_KEY);
}

function insertedCount(error: unknown): number {
  const { insertedCount, result } = error as { insertedCount?: number; result?: { insertedCount?: number } };
  return insertedCount ?? result?.insertedCount ?? 0;
}
