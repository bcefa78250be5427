import { SessionDataError } from '../../errors/session-data.error.js';
import { SssMessages } from '../../sss.messages.js';
import type { ScalerSessionStore } from '../scaler.interface.js';
import { checkSessionKey, encodeSessionValue, MAX_SESSION_KEYS, sessionTtlOf } from './session-data.limits.js';

interface StoredValue {
  json: string;
  expiresAt: number;
}

/** How often expired keys are dropped (they are also ignored on read). */
const SWEEP_INTERVAL_MS = 10_000;

/**
 * Session data in one process's memory (the embedded scaler's, or a broker's). Values are kept as
 * JSON, so a `get` returns a copy, exactly as with Redis.
 */
export class MemorySessionStore implements ScalerSessionStore {
  private readonly sessions = new Map<string, Map<string, StoredValue>>();
  private sweepTimer?: NodeJS.Timeout;

  /** Starts the periodic sweep of expired keys. */
  start(): void {
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  async get(sessionId: string, key: string): Promise<unknown> {
    checkSessionKey(sessionId, key);
    const stored = this.sessions.get(sessionId)?.get(key);
    if (!stored) return undefined;
    if (stored.expiresAt <= Date.now()) {
      this.drop(sessionId, key);
      return undefined;
    }
    return JSON.parse(stored.json);
  }

  async set(sessionId: string, key: string, value: unknown, ttlMs?: number): Promise<void> {
    checkSessionKey(sessionId, key);
    const ttl = sessionTtlOf(ttlMs);
    const json = encodeSessionValue(key, value);
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = new Map();
      this.sessions.set(sessionId, session);
    }
    if (!session.has(key) && session.size >= MAX_SESSION_KEYS) {
      this.sweepSession(sessionId, session, Date.now());
      if (session.size >= MAX_SESSION_KEYS)
        throw new SessionDataError(SssMessages.tooManySessionKeys(MAX_SESSION_KEYS));
    }
    session.set(key, { json, expiresAt: Date.now() + ttl });
    // The sweep above may have dropped an emptied session from the map.
    this.sessions.set(sessionId, session);
  }

  async delete(sessionId: string, key: string): Promise<void> {
    checkSessionKey(sessionId, key);
    this.drop(sessionId, key);
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sessions.clear();
  }

  private drop(sessionId: string, key: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    session.delete(key);
    if (session.size === 0) this.sessions.delete(sessionId);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [sessionId, session] of this.sessions) this.sweepSession(sessionId, session, now);
  }

  private sweepSession(sessionId: string, session: Map<string, StoredValue>, now: number): void {
    for (const [key, stored] of session) if (stored.expiresAt <= now) session.delete(key);
    if (session.size === 0) this.sessions.delete(sessionId);
  }
}
