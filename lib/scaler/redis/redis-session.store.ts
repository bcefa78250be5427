import type { Redis } from 'ioredis';
import { SessionDataError } from '../../errors/session-data.error.js';
import { SssMessages } from '../../sss.messages.js';
import type { ScalerSessionStore } from '../scaler.interface.js';
import { checkSessionKey, encodeSessionValue, MAX_SESSION_KEYS, sessionTtlOf } from '../session/session-data.limits.js';

// KEYS: the session's key index, the value's key. ARGV: key, value JSON, TTL (ms), max keys, the
// prefix of the session's value keys. Index members whose value expired are dropped when the index
// is full. Returns 0 when the session is full.
const SET_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[4]) then
    for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
      if redis.call('EXISTS', ARGV[5] .. key) == 0 then redis.call('SREM', KEYS[1], key) end
    end
    if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
  end
  redis.call('SADD', KEYS[1], ARGV[1])
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

// KEYS: the session's key index, the value's key. ARGV: key.
const DELETE_SCRIPT = `
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
return 1
`;

interface SessionCommands {
  sssSessionSet(index: string, valueKey: string, ...args: (string | number)[]): Promise<number>;
  sssSessionDelete(index: string, valueKey: string, key: string): Promise<number>;
}

/**
 * Session data in Redis, shared by the Redis-based scalers: one Redis key per session key
 * (`<prefix>:sess:{<sessionId>}:v:<key>`, expiring on its own) and an index of the session's keys
 * that bounds their number. The session id is the hash tag: a session's keys share one Redis
 * Cluster slot.
 */
export class RedisSessionStore implements ScalerSessionStore {
  private readonly redis: Redis & SessionCommands;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('sssSessionSet', { numberOfKeys: 2, lua: SET_SCRIPT });
    redis.defineCommand('sssSessionDelete', { numberOfKeys: 2, lua: DELETE_SCRIPT });
    this.redis = redis as Redis & SessionCommands;
  }

  async get(sessionId: string, key: string): Promise<unknown> {
    checkSessionKey(sessionId, key);
    const json = await this.redis.get(this.valueKey(sessionId, key));
    return json === null ? undefined : JSON.parse(json);
  }

  async set(sessionId: string, key: string, value: unknown, ttlMs?: number): Promise<void> {
    checkSessionKey(sessionId, key);
    const ttl = sessionTtlOf(ttlMs);
    const json = encodeSessionValue(key, value);
    const stored = await this.redis.sssSessionSet(
      this.indexKey(sessionId),
      this.valueKey(sessionId, key),
      key,
      json,
      ttl,
      MAX_SESSION_KEYS,
      this.valueKey(sessionId, ''),
    );
    if (stored !== 1) throw new SessionDataError(SssMessages.tooManySessionKeys(MAX_SESSION_KEYS));
  }

  async delete(sessionId: string, key: string): Promise<void> {
    checkSessionKey(sessionId, key);
    await this.redis.sssSessionDelete(this.indexKey(sessionId), this.valueKey(sessionId, key), key);
  }

  private indexKey(sessionId: string): string {
    return `${this.prefix}:sess:{${sessionId}}:keys`;
  }

  private valueKey(sessionId: string, key: string): string {
    return `${this.prefix}:sess:{${sessionId}}:v:${key}`;
  }
}
