import { randomUUID } from 'node:crypto';
import type { ChannelPosition } from '../../protocol/frames.js';
import type { RedisClient } from './redis-connection.js';

// Reads the channel's epoch, creating it on first use (KEYS[2], ARGV[1]).
const ENSURE_EPOCH = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
`;

// Takes the next seq and publishes in one atomic step, so that Redis delivers a channel's messages
// in seq order. The message JSON is completed here because only the script knows seq and epoch.
// KEYS: seq counter, epoch, pub/sub channel (all three in the channel's hash slot). ARGV: an epoch
// for a new channel, the JSON after "{". `publish` is PUBLISH, or SPUBLISH on a Redis Cluster (a
// sharded channel is slot-checked like a key, so it is declared in KEYS).
const publishScript = (publish: 'PUBLISH' | 'SPUBLISH'): string => `${ENSURE_EPOCH}
local seq = redis.call('INCR', KEYS[1])
redis.call('${publish}', KEYS[3], '{"s":' .. seq .. ',"e":"' .. epoch .. '",' .. ARGV[2])
return {seq, epoch}
`;

// KEYS: seq counter, epoch. ARGV: an epoch for a new channel.
const POSITION_SCRIPT = `${ENSURE_EPOCH}
return {tonumber(redis.call('GET', KEYS[1]) or '0'), epoch}
`;

interface SequencerCommands {
  sssPublish(seqKey: string, epochKey: string, channel: string, epoch: string, rest: string): Promise<[number, string]>;
  sssPosition(seqKey: string, epochKey: string, epoch: string): Promise<[number, string]>;
}

/**
 * The order of channels when nothing is stored (`RedisScaler`, history off): counters and epochs in Redis.
 * A Redis restart without persistence starts every channel on a new epoch, which subscribers see
 * as a lost history, never as a wrong one.
 */
export class RedisSequencer {
  private readonly redis: RedisClient & SequencerCommands;

  /** @param sharded publish with SPUBLISH (Redis Cluster) rather than PUBLISH. */
  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    sharded: boolean,
  ) {
    redis.defineCommand('sssPublish', { numberOfKeys: 3, lua: publishScript(sharded ? 'SPUBLISH' : 'PUBLISH') });
    redis.defineCommand('sssPosition', { numberOfKeys: 2, lua: POSITION_SCRIPT });
    this.redis = redis as RedisClient & SequencerCommands;
  }

  /** Sequences and publishes; `rest` is the message JSON without its opening brace. */
  async publish(channel: string, redisChannel: string, rest: string): Promise<ChannelPosition> {
    const [seq, epoch] = await this.redis.sssPublish(
      this.seqKey(channel),
      this.epochKey(channel),
      redisChannel,
      randomUUID(),
      rest,
    );
    return { seq, epoch };
  }

  async position(channel: string): Promise<ChannelPosition> {
    const [seq, epoch] = await this.redis.sssPosition(this.seqKey(channel), this.epochKey(channel), randomUUID());
    return { seq, epoch };
  }

  // Hash tags keep a channel's keys in one slot of a Redis Cluster, as a script needs.
  private seqKey(channel: string): string {
    return `${this.prefix}:seq:{${channel}}`;
  }

  private epochKey(channel: string): string {
    return `${this.prefix}:epoch:{${channel}}`;
  }
}
