import type { RedisClient } from '../redis/redis-connection.js';
import { decodeWireMessage } from '../redis/wire-message.js';
import type { ScalerMessage } from '../scaler.interface.js';

/** KEYS[1] the window; ARGV: seq, the message's wire JSON, the size, the TTL (ms). */
const ADD_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[3]) then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

/**
 * ADD_SCRIPT for each message, each followed by its PUBLISH. KEYS: the windows, one per message;
 * ARGV: the size, the TTL (ms), then per message its seq, its wire JSON and its Redis channel.
 */
const ADD_AND_PUBLISH_SCRIPT = `
local size = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local at = 3 * i
  if size > 0 then
    redis.call('ZADD', key, ARGV[at], ARGV[at + 1])
    if redis.call('ZCARD', key) > size then redis.call('ZREMRANGEBYRANK', key, 0, -(size + 1)) end
    redis.call('PEXPIRE', key, ARGV[2])
  end
  redis.call('PUBLISH', ARGV[at + 2], ARGV[at + 1])
end
return #KEYS`;

interface WindowCommands {
  sssWindowAdd(key: string, seq: number, wireJson: string, size: number, ttlMs: number): Promise<number>;
  sssWindowAddAndPublish(keyCount: number, ...args: Array<string | number>): Promise<number>;
}

/** A stored message on its way out: into the window, then published on its Redis channel. */
export interface OutgoingMessage {
  channel: string;
  seq: number;
  wireJson: string;
  redisChannel: string;
}

/**
 * The newest stored messages of each channel, kept in Redis (a sorted set per channel, scored by
 * seq, members being the messages' wire JSON): an instance that starts following a channel (a
 * restart, a scale-out) and the recoveries it serves read them from Redis instead of the store.
 * Only messages verifiably stored are added, so the window never disagrees with the store; it may
 * lack some (a failed add, a Redis restart), and a read that finds a hole falls back to the store.
 * Each set keeps at most `size` messages and expires `ttlMs` after its last message. Its key has
 * the channel's hash tag, so that it shares a Redis Cluster slot with the channel's other keys.
 */
export class RedisRecentWindow {
  constructor(
    private readonly redis: () => RedisClient,
    private readonly prefix: string,
    private readonly size: number,
    private readonly ttlMs: number,
  ) {}

  get enabled(): boolean {
    return this.size > 0;
  }

  /**
   * Adds a stored message (best effort: a failure only means a later read goes to the store). One
   * script per message: the add, the trim to `size` (only when over it) and the expiry.
   */
  add(channel: string, seq: number, wireJson: string): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return this.commands()
      .sssWindowAdd(this.keyOf(channel), seq, wireJson, this.size, this.ttlMs)
      .then(
        () => undefined,
        () => undefined,
      );
  }

  /**
   * Adds each message (when the window is on) and publishes it, in order, in one script: on a
   * standalone Redis only (a script's keys must share a Redis Cluster slot). Rejects when Redis
   * does not run it; a message it did not publish is stored, so subscribers fill it as a gap.
   */
  addAndPublish(messages: OutgoingMessage[]): Promise<number> {
    const args: Array<string | number> = messages.map((message) => this.keyOf(message.channel));
    args.push(this.size, this.ttlMs);
    for (const { seq, wireJson, redisChannel } of messages) args.push(seq, wireJson, redisChannel);
    return this.commands().sssWindowAddAndPublish(messages.length, ...args);
  }

  /**
   * The messages of `epoch` with `after < seq <= upTo`, in order, when the window holds every one
   * of them; undefined when it lacks any (or Redis does not answer).
   */
  async range(channel: string, epoch: string, after: number, upTo: number): Promise<ScalerMessage[] | undefined> {
    if (!this.enabled || upTo <= after || upTo - after > this.size) return undefined;
    const run = await this.read(channel, epoch, after, upTo);
    if (!run || run.length !== upTo - after || run[0].seq !== after + 1) return undefined;
    return run;
  }

  /**
   * The longest run of consecutive messages of `epoch` that ends at the newest one the window
   * holds in `(after, upTo]` (empty when it holds none).
   */
  async newestRun(channel: string, epoch: string, after: number, upTo: number): Promise<ScalerMessage[]> {
    if (!this.enabled || upTo <= after) return [];
    const run = (await this.read(channel, epoch, Math.max(after, upTo - this.size), upTo)) ?? [];
    let first = run.length - 1;
    while (first > 0 && run[first - 1].seq === run[first].seq - 1) first--;
    return run.slice(Math.max(0, first));
  }

  /** What the window holds of `epoch` in `(after, upTo]`, in order, maybe with holes; empty on error. */
  async held(channel: string, epoch: string, after: number, upTo: number): Promise<ScalerMessage[]> {
    if (!this.enabled || upTo <= after) return [];
    return (await this.read(channel, epoch, after, upTo)) ?? [];
  }

  /** The window's messages of `epoch` in `(after, upTo]`, one per seq, in order; undefined on error. */
  private async read(
    channel: string,
    epoch: string,
    after: number,
    upTo: number,
  ): Promise<ScalerMessage[] | undefined> {
    let members: string[];
    try {
      members = await this.redis().zrangebyscore(this.keyOf(channel), `(${after}`, upTo);
    } catch {
      return undefined;
    }
    const messages: ScalerMessage[] = [];
    for (const member of members) {
      const message = decodeWireMessage(member);
      if (!message || message.channel !== channel || message.epoch !== epoch) continue;
      // One per seq (a seq added twice, e.g. read back after its publisher's add, is the same message).
      if (messages.length > 0 && messages[messages.length - 1].seq === message.seq) continue;
      messages.push(message);
    }
    return messages;
  }

  /**
   * Defines the window's scripts on the publishing client; called once it is connected, before
   * any command (an auto-pipelined batch opened before a script was defined lacks the script).
   */
  defineCommands(): void {
    const client = this.redis();
    client.defineCommand('sssWindowAdd', { numberOfKeys: 1, lua: ADD_SCRIPT });
    client.defineCommand('sssWindowAddAndPublish', { lua: ADD_AND_PUBLISH_SCRIPT });
  }

  private commands(): RedisClient & WindowCommands {
    return this.redis() as RedisClient & WindowCommands;
  }

  private keyOf(channel: string): string {
    return `${this.prefix}:recent:{${channel}}`;
  }
}
