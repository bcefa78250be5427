import type { RedisClient } from '../redis/redis-connection.js';

// Hands out `ARGV[1]` consecutive seqs and returns the last, or false when the counter is missing
// (first use, or Redis lost its data): the caller seeds it from the store, then asks again.
const TAKE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('INCRBY', KEYS[1], ARGV[1])
`;

// TAKE_SCRIPT for each key: KEYS[i] takes ARGV[i] seqs. Returns the last of each, or -1 for a
// missing counter (a false in a Lua array would end it).
const TAKE_MANY_SCRIPT = `
local lasts = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then lasts[i] = -1 else lasts[i] = redis.call('INCRBY', key, ARGV[i]) end
end
return lasts
`;

// Moves the counter up to `ARGV[1]` if it is below (never down).
const RAISE_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

// Ends the seeding turn `ARGV[1]` if it still holds it.
const RELEASE_TURN_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface CounterCommands {
  sssTakeSeqs(key: string, count: number): Promise<number | null>;
  sssTakeManySeqs(keyCount: number, ...keysThenCounts: Array<string | number>): Promise<number[]>;
  sssRaiseSeq(key: string, atLeast: number): Promise<number>;
  sssReleaseTurn(key: string, id: string): Promise<number>;
}

/**
 * Candidate seqs for the history scaler: an atomic counter per channel in Redis. It only proposes
 * seqs: a seq belongs to a message once its insert wins the store's unique index. The counter is
 * seeded from the store (never below what was stored), so an empty Redis costs a read, not a reused
 * seq. NOTE: the counter lives in Redis because FerretDB 1.x runs `findAndModify` as a read and a
 * write without isolation: concurrent `$inc`s are lost there, and a counter that goes backwards
 * could hand out a seq whose message retention already deleted.
 */
export class RedisSeqCounter {
  private readonly redis: RedisClient & CounterCommands;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    /**
     * One script may touch several channels' counters (a standalone Redis); on a Redis Cluster
     * each channel's counter lives in its own slot and is asked for alone.
     */
    private readonly multiKey: boolean,
  ) {
    redis.defineCommand('sssTakeSeqs', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    redis.defineCommand('sssTakeManySeqs', { lua: TAKE_MANY_SCRIPT });
    redis.defineCommand('sssRaiseSeq', { numberOfKeys: 1, lua: RAISE_SCRIPT });
    redis.defineCommand('sssReleaseTurn', { numberOfKeys: 1, lua: RELEASE_TURN_SCRIPT });
    this.redis = redis as RedisClient & CounterCommands;
  }

  /** Takes `count` seqs; the last of them, or undefined when the counter must be seeded first. */
  async take(channel: string, count: number): Promise<number | undefined> {
    const last = await this.redis.sssTakeSeqs(this.key(channel), count);
    return last === null ? undefined : Number(last);
  }

  /**
   * Takes seqs of several channels: `count` of each `channel`. The last of each, undefined for a
   * counter to seed first. One script for all of them on a standalone Redis.
   */
  async takeMany(requests: ReadonlyArray<{ channel: string; count: number }>): Promise<Array<number | undefined>> {
    if (!this.multiKey || requests.length === 1) {
      return Promise.all(requests.map(({ channel, count }) => this.take(channel, count)));
    }
    // The script's keys, then the count of each.
    const args: Array<string | number> = new Array(2 * requests.length);
    requests.forEach(({ channel, count }, index) => {
      args[index] = this.key(channel);
      args[requests.length + index] = count;
    });
    const lasts = await this.redis.sssTakeManySeqs(requests.length, ...args);
    return lasts.map((last) => (Number(last) < 0 ? undefined : Number(last)));
  }

  /** The last seq handed out; undefined when the counter must be seeded first. */
  async peek(channel: string): Promise<number | undefined> {
    const value = await this.redis.get(this.key(channel));
    return value === null ? undefined : Number(value);
  }

  /** Sets a missing counter; a counter set meanwhile by another instance is kept. */
  async seed(channel: string, lastStoredSeq: number): Promise<void> {
    await this.redis.set(this.key(channel), lastStoredSeq, 'NX');
  }

  /** Moves the counter past `lastStoredSeq` if it is behind (seqs it hands out keep colliding). */
  async raise(channel: string, lastStoredSeq: number): Promise<void> {
    await this.redis.sssRaiseSeq(this.key(channel), lastStoredSeq);
  }

  /**
   * Whether this process may trim now (by count or by age): one turn of each kind per `intervalMs`
   * among all instances. One key for every channel (on a Redis Cluster it lives in the slot of its
   * own name).
   */
  async takeTrimTurn(kind: 'count' | 'age', intervalMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:trim-turn:${kind}`, '1', 'PX', intervalMs, 'NX')) === 'OK';
  }

  /**
   * Asks for the turn to seed every lost counter (Redis lost them all at once, and every instance
   * finds out together); returns the id of whoever holds the turn (`id` when this caller got it).
   */
  async takeSeedTurn(id: string, ms: number): Promise<string | undefined> {
    const key = `${this.prefix}:seed-turn`;
    if ((await this.redis.set(key, id, 'PX', ms, 'NX')) === 'OK') return id;
    return (await this.redis.get(key)) ?? undefined;
  }

  /**
   * Says that the holder of turn `id` seeded every counter, and ends the turn: a later loss
   * starts a seeding of its own.
   */
  async markSeeded(id: string, ms: number): Promise<void> {
    // A key per turn: turns may follow each other closely, and each waiter asks about its own.
    await this.redis.set(`${this.prefix}:seed-done:${id}`, '1', 'PX', ms);
    await this.redis.sssReleaseTurn(`${this.prefix}:seed-turn`, id);
  }

  /** Whether the holder of turn `id` seeded every counter. */
  async seeded(id: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:seed-done:${id}`)) === 1;
  }

  // The hash tag keeps a channel's keys in one Redis Cluster slot.
  private key(channel: string): string {
    return `${this.prefix}:hseq:{${channel}}`;
  }
}
