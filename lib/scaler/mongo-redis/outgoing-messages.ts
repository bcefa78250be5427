import type { RedisFanOut } from '../redis/redis-fan-out.js';
import type { OutgoingMessage, RedisRecentWindow } from './redis-recent-window.js';

/**
 * Sends stored messages on their way: each is added to Redis's window of recent messages, then
 * published, on the publishing connection (an instance that missed the publish finds it in the
 * window). The messages stored by one insert leave together: on a standalone Redis, one script
 * (`RedisRecentWindow.addAndPublish`) adds and publishes all of them, in the order they were
 * handed over, at the end of the tick; on a Redis Cluster, where a script's keys must share a
 * slot, each message is added and published by its own commands.
 */
export class OutgoingMessages {
  private pending: OutgoingMessage[] = [];

  constructor(
    private readonly window: RedisRecentWindow,
    private readonly fanOut: RedisFanOut,
  ) {}

  /** Hands over a stored message; those of one channel must come in seq order. */
  send(channel: string, seq: number, wireJson: string): void {
    if (this.fanOut.sharded) {
      void this.window.add(channel, seq, wireJson);
      this.fanOut.publishStored(channel, wireJson, `${channel}#${seq}`);
      return;
    }
    if (this.pending.length === 0) process.nextTick(this.flush);
    this.pending.push({ channel, seq, wireJson, redisChannel: this.fanOut.redisChannelOf(channel) });
  }

  private readonly flush = (): void => {
    const messages = this.pending;
    this.pending = [];
    const { channel, seq } = messages[0];
    const what = messages.length === 1 ? `${channel}#${seq}` : `${messages.length} messages from ${channel}#${seq} on`;
    this.fanOut.track(this.window.addAndPublish(messages), what);
  };
}
