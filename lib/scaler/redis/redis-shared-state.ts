import type { Redis } from 'ioredis';
import { SssConfigurationError } from '../../errors/sss-configuration.error.js';
import { SssMessages } from '../../sss.messages.js';
import type { PresenceConnection, PresenceMember, ScalerPresence, ScalerSessionStore } from '../scaler.interface.js';
import { RedisPresence } from './redis-presence.js';
import { RedisSessionStore } from './redis-session.store.js';

/** Default of the Redis scalers' `presenceTimeout`, in ms. */
export const DEFAULT_PRESENCE_TIMEOUT_MS = 6_000;
/** The shortest `presenceTimeout` accepted, in ms (heartbeats run every third of it). */
const MIN_PRESENCE_TIMEOUT_MS = 300;

/**
 * Presence and session data of a Redis-based scaler. Both exist from construction (the scaler
 * exposes them as properties) and work once `start()` got the scaler's Redis connection.
 */
export class RedisSharedState {
  readonly presence: ScalerPresence;
  readonly sessions: ScalerSessionStore;
  private readonly timeoutMs: number;
  private redisPresence?: RedisPresence;
  private sessionStore?: RedisSessionStore;

  constructor(
    private readonly prefix: string,
    presenceTimeout: number | undefined,
    private readonly redisChannelOf: (channel: string) => string,
  ) {
    this.timeoutMs = presenceTimeout ?? DEFAULT_PRESENCE_TIMEOUT_MS;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < MIN_PRESENCE_TIMEOUT_MS) {
      throw new SssConfigurationError(
        SssMessages.invalidScalerOption('presenceTimeout', `an integer of at least ${MIN_PRESENCE_TIMEOUT_MS} (ms)`),
      );
    }
    this.presence = {
      join: async (channel: string, connection: PresenceConnection): Promise<void> =>
        this.requirePresence().join(channel, connection),
      leave: async (channel: string, connectionId: string): Promise<void> =>
        this.requirePresence().leave(channel, connectionId),
      members: async (channel: string): Promise<PresenceMember[]> => this.requirePresence().members(channel),
      membersJson: async (channel: string): Promise<string> => this.requirePresence().membersJson(channel),
    };
    this.sessions = {
      get: async (sessionId: string, key: string): Promise<unknown> => this.requireSessions().get(sessionId, key),
      set: async (sessionId: string, key: string, value: unknown, ttlMs?: number): Promise<void> =>
        this.requireSessions().set(sessionId, key, value, ttlMs),
      delete: async (sessionId: string, key: string): Promise<void> => this.requireSessions().delete(sessionId, key),
    };
  }

  async start(redis: Redis): Promise<void> {
    this.sessionStore = new RedisSessionStore(redis, this.prefix);
    const presence = new RedisPresence(redis, this.prefix, this.timeoutMs, this.redisChannelOf);
    await presence.start();
    this.redisPresence = presence;
  }

  /** Removes this instance's presence entries (with leave events); call before Redis closes. */
  async close(): Promise<void> {
    await this.redisPresence?.close();
  }

  private requirePresence(): RedisPresence {
    if (!this.redisPresence) throw new Error('The scaler is not connected yet.');
    return this.redisPresence;
  }

  private requireSessions(): RedisSessionStore {
    if (!this.sessionStore) throw new Error('The scaler is not connected yet.');
    return this.sessionStore;
  }
}
