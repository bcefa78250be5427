import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { PresenceConnection, PresenceEvent, PresenceMember, ScalerPresence } from '../scaler.interface.js';

// Presence scripts share KEYS: [1] connection entries, [2] user counts, [3] the instance's
// connections on the channel, [4] user infos, [5] rendered members. An entry is
// `{"u":<userId>,"i":<info>}`; its event is the same JSON with the kind in front, so that the info
// is never decoded and encoded again. A rendered member is the JSON of a PresenceMember, written
// on every change so that reading the members is one HVALS.
const SHARED_FUNCTIONS = `
local function render(user, connections)
  local info = redis.call('HGET', KEYS[4], user)
  local member = '{"userId":' .. cjson.encode(user) .. ',"connections":' .. connections
  if info then member = member .. ',"info":' .. info end
  redis.call('HSET', KEYS[5], user, member .. '}')
end
local function leave(id)
  local entry = redis.call('HGET', KEYS[1], id)
  if not entry then return end
  redis.call('HDEL', KEYS[1], id)
  local user = cjson.decode(entry).u
  local connections = redis.call('HINCRBY', KEYS[2], user, -1)
  if connections > 0 then return render(user, connections) end
  redis.call('HDEL', KEYS[2], user)
  redis.call('HDEL', KEYS[4], user)
  redis.call('HDEL', KEYS[5], user)
  redis.call('PUBLISH', ARGV[2], '{"k":"leave",' .. string.sub(entry, 2))
end
`;

// ARGV: connection id, pub/sub channel, user id, entry, info JSON ('' for none).
const JOIN_SCRIPT = `${SHARED_FUNCTIONS}
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[4]) == 0 then return 0 end
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[3], ARGV[5]) end
local connections = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
render(ARGV[3], connections)
if connections == 1 then
  redis.call('PUBLISH', ARGV[2], '{"k":"join",' .. string.sub(ARGV[4], 2))
end
return 1
`;

// ARGV: connection id, pub/sub channel. Returns what the instance has left there.
const LEAVE_SCRIPT = `${SHARED_FUNCTIONS}
leave(ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return redis.call('SCARD', KEYS[3])
`;

// KEYS[3] is a dead instance's connections; ARGV[2]: pub/sub channel.
const SWEEP_SCRIPT = `${SHARED_FUNCTIONS}
local ids = redis.call('SMEMBERS', KEYS[3])
for _, id in ipairs(ids) do leave(id) end
redis.call('DEL', KEYS[3])
return #ids
`;

// KEYS: the instance registry (a sorted set scored by the last heartbeat, in Redis time).
// ARGV: instance id. Returns 1 when the instance was not registered (new, or swept as dead).
const HEARTBEAT_SCRIPT = `
local now = redis.call('TIME')
return redis.call('ZADD', KEYS[1], tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000), ARGV[1])
`;

// KEYS: the instance registry. ARGV: timeout (ms). Instances silent for longer than the timeout.
const DEAD_INSTANCES_SCRIPT = `
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
`;

interface PresenceCommands {
  sssPresenceJoin(...keysThenArgs: string[]): Promise<number>;
  sssPresenceLeave(...keysThenArgs: string[]): Promise<number>;
  sssPresenceSweep(...keysThenArgs: string[]): Promise<number>;
  sssHeartbeat(registry: string, instanceId: string): Promise<number>;
  sssDeadInstances(registry: string, timeoutMs: number): Promise<string[]>;
}

/** A presence event as published on a channel's Redis channel: `{"k":"join","u":...,"i":...}`. */
interface WirePresenceEvent {
  k: 'join' | 'leave';
  u: string;
  i?: Record<string, unknown>;
}

/** Whether a payload on a channel's Redis channel is a presence event rather than a message. */
export function isPresencePayload(payload: string): boolean {
  return payload.startsWith('{"k":');
}

/** A presence event from its wire JSON; undefined when it is not one. */
export function decodePresencePayload(channel: string, payload: string): PresenceEvent | undefined {
  let wire: WirePresenceEvent;
  try {
    wire = JSON.parse(payload) as WirePresenceEvent;
  } catch {
    return undefined;
  }
  if ((wire?.k !== 'join' && wire?.k !== 'leave') || typeof wire.u !== 'string') return undefined;
  const event: PresenceEvent = { channel, kind: wire.k, userId: wire.u };
  if (wire.i !== undefined) event.info = wire.i;
  return event;
}

/**
 * Presence in Redis, shared by the Redis-based scalers. Per channel, a hash of connection entries,
 * hashes of per-user counts, infos (the latest join's) and rendered members, changed only by Lua
 * scripts, so that a user's 0→1 and 1→0
 * transitions are exact however many instances join and leave at once; the script that makes a
 * transition publishes the join or leave event on the channel's Redis channel, where every
 * instance with subscribers of the channel hears it. Every key of a channel carries the channel as
 * a hash tag (`<prefix>:pr:{<channel>}:...`), so a script touches one Redis Cluster slot.
 *
 * Each instance also records which channels it has entries on, and heartbeats into a registry
 * every third of `timeoutMs`. Every instance sweeps every third of `timeoutMs`: an instance silent
 * for more than `timeoutMs` (killed, frozen, cut off) is claimed by one survivor, which removes
 * its entries with leave events. So the entries of a killed instance are gone within about
 * `timeoutMs * 4/3`. An instance that comes back after being swept (a long freeze, or Redis
 * restarted empty) registers under a new id and joins its connections again.
 */
export class RedisPresence implements ScalerPresence {
  private readonly logger = new Logger('SssRedisPresence');
  private readonly redis: Redis & PresenceCommands;
  /** This instance's connections per channel, to join again after being swept. */
  private readonly local = new Map<string, Map<string, PresenceConnection>>();
  private instanceId = randomUUID();
  private timer?: NodeJS.Timeout;
  private rejoining = false;
  private closed = false;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly redisChannelOf: (channel: string) => string,
  ) {
    redis.defineCommand('sssPresenceJoin', { numberOfKeys: 5, lua: JOIN_SCRIPT });
    redis.defineCommand('sssPresenceLeave', { numberOfKeys: 5, lua: LEAVE_SCRIPT });
    redis.defineCommand('sssPresenceSweep', { numberOfKeys: 5, lua: SWEEP_SCRIPT });
    redis.defineCommand('sssHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_SCRIPT });
    redis.defineCommand('sssDeadInstances', { numberOfKeys: 1, lua: DEAD_INSTANCES_SCRIPT });
    this.redis = redis as Redis & PresenceCommands;
  }

  /** Registers this instance and starts heartbeats and sweeps. */
  async start(): Promise<void> {
    await this.redis.sssHeartbeat(this.registryKey, this.instanceId);
    const every = Math.max(100, Math.floor(this.timeoutMs / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  async join(channel: string, connection: PresenceConnection): Promise<void> {
    let connections = this.local.get(channel);
    if (!connections) {
      connections = new Map();
      this.local.set(channel, connections);
    }
    connections.set(connection.connectionId, connection);
    await this.writeJoin(channel, connection);
  }

  async leave(channel: string, connectionId: string): Promise<void> {
    const connections = this.local.get(channel);
    if (!connections?.delete(connectionId)) return;
    if (connections.size === 0) this.local.delete(channel);
    const instanceId = this.instanceId;
    const left = this.redis.sssPresenceLeave(
      this.entriesKey(channel),
      this.usersKey(channel),
      this.ownKey(channel, instanceId),
      this.infosKey(channel),
      this.renderedKey(channel),
      connectionId,
      this.redisChannelOf(channel),
    );
    // NOTE: decided when the commands are issued (one connection keeps their order): a later join on
    // this channel sends its SADD after this SREM, so the record never loses a channel with entries.
    const forgotten = this.local.has(channel) ? undefined : this.redis.srem(this.channelsKey(instanceId), channel);
    await Promise.all([left, forgotten]);
  }

  async members(channel: string): Promise<PresenceMember[]> {
    return JSON.parse(await this.membersJson(channel)) as PresenceMember[];
  }

  /** The members as the JSON of a `PresenceMember[]`, from the members Redis keeps rendered. */
  async membersJson(channel: string): Promise<string> {
    return `[${(await this.redis.hvals(this.renderedKey(channel))).join(',')}]`;
  }

  /** Removes this instance's entries (with leave events) and stops. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.local.clear();
    await this.sweepInstance(this.instanceId).catch((error: Error) =>
      this.logger.warn(`presence cleanup on close: ${error.message}`),
    );
    await this.redis.zrem(this.registryKey, this.instanceId).catch(() => undefined);
  }

  private async writeJoin(channel: string, connection: PresenceConnection): Promise<void> {
    const instanceId = this.instanceId;
    const info = connection.info === undefined ? '' : JSON.stringify(connection.info);
    const entry = `{"u":${JSON.stringify(connection.userId)}${info === '' ? '' : `,"i":${info}`}}`;
    // The channel is recorded first (a sweep must find every channel that may hold our entries), and
    // both are issued at once: a leave issued after this join reaches Redis after it.
    const recorded = this.redis.sadd(this.channelsKey(instanceId), channel);
    const joined = this.redis.sssPresenceJoin(
      this.entriesKey(channel),
      this.usersKey(channel),
      this.ownKey(channel, instanceId),
      this.infosKey(channel),
      this.renderedKey(channel),
      connection.connectionId,
      this.redisChannelOf(channel),
      connection.userId,
      entry,
      info,
    );
    await Promise.all([recorded, joined]);
  }

  private async tick(): Promise<void> {
    if (this.closed || this.rejoining) return;
    try {
      const fresh = await this.redis.sssHeartbeat(this.registryKey, this.instanceId);
      if (fresh === 1) await this.rejoin();
      const dead = await this.redis.sssDeadInstances(this.registryKey, this.timeoutMs);
      for (const instanceId of dead) {
        if (instanceId === this.instanceId || this.closed) continue;
        // Whoever removes the instance from the registry sweeps it, once.
        if ((await this.redis.zrem(this.registryKey, instanceId)) === 1) await this.sweepInstance(instanceId);
      }
    } catch (error) {
      this.logger.warn(`presence heartbeat or sweep: ${(error as Error).message}`);
    }
  }

  /**
   * We were swept as dead (or Redis lost the registry): take a new id, so that a sweep still
   * running on the old one cannot remove what we write now, and join every local connection again.
   */
  private async rejoin(): Promise<void> {
    this.rejoining = true;
    try {
      const old = this.instanceId;
      this.instanceId = randomUUID();
      this.logger.warn(`presence: this instance was considered dead; re-registering as ${this.instanceId}`);
      await this.redis.sssHeartbeat(this.registryKey, this.instanceId);
      // Entries still under the old id would be ignored by the joins below (same connection ids).
      await this.sweepInstance(old);
      for (const [channel, connections] of this.local) {
        for (const connection of connections.values()) await this.writeJoin(channel, connection);
      }
    } finally {
      this.rejoining = false;
    }
  }

  private async sweepInstance(instanceId: string): Promise<void> {
    const channels = await this.redis.smembers(this.channelsKey(instanceId));
    for (const channel of channels) {
      await this.redis.sssPresenceSweep(
        this.entriesKey(channel),
        this.usersKey(channel),
        this.ownKey(channel, instanceId),
        this.infosKey(channel),
        this.renderedKey(channel),
        '',
        this.redisChannelOf(channel),
      );
    }
    await this.redis.del(this.channelsKey(instanceId));
  }

  private get registryKey(): string {
    return `${this.prefix}:pr:instances`;
  }

  private channelsKey(instanceId: string): string {
    return `${this.prefix}:pr:instance:{${instanceId}}`;
  }

  // Hash tags keep a channel's keys in one slot of a Redis Cluster, as a script needs.
  private entriesKey(channel: string): string {
    return `${this.prefix}:pr:{${channel}}:entries`;
  }

  private usersKey(channel: string): string {
    return `${this.prefix}:pr:{${channel}}:users`;
  }

  private renderedKey(channel: string): string {
    return `${this.prefix}:pr:{${channel}}:members`;
  }

  private infosKey(channel: string): string {
    return `${this.prefix}:pr:{${channel}}:infos`;
  }

  private ownKey(channel: string, instanceId: string): string {
    return `${this.prefix}:pr:{${channel}}:instance:${instanceId}`;
  }
}
