import { SessionDataError } from '../../errors/session-data.error.js';
import type { ScalerSessionStore } from '../scaler.interface.js';
import { SssMessages } from '../../sss.messages.js';

/** Options of `socket.session.set()`. */
export interface SssSessionSetOptions {
  /** How long the key lives after this set, in ms. Default: one hour; at most 30 days. */
  ttlMs?: number;
}

/**
 * The data of one session (`socket.session`, `SssPublisher.session(id)`), shared by every instance
 * that serves a socket of the session: in Redis with the Redis-based scalers, in memory with the
 * embedded one. Values are stored as JSON (a `get` returns a copy); a value's JSON is at most
 * 64 KiB and a session holds at most 100 keys (`SessionDataError` otherwise).
 *
 * @example
 * ```ts
 * await socket.session.set('cart', { items: 3 }, { ttlMs: 600_000 });
 * const cart = await socket.session.get<{ items: number }>('cart');
 * ```
 */
export class SssSession {
  /** @internal Created by the socket or the publisher. */
  constructor(
    private readonly store: ScalerSessionStore,
    private readonly sessionId: string | undefined,
  ) {}

  /** The value of `key`, or undefined when it is not set or expired. */
  get<T = unknown>(key: string): Promise<T | undefined> {
    return this.run((sessionId) => this.store.get(sessionId, key)) as Promise<T | undefined>;
  }

  /** Sets `key`, renewing its TTL. */
  set(key: string, value: unknown, options: SssSessionSetOptions = {}): Promise<void> {
    return this.run((sessionId) => this.store.set(sessionId, key, value, options.ttlMs));
  }

  /** Removes `key` (nothing happens if it is not set). */
  delete(key: string): Promise<void> {
    return this.run((sessionId) => this.store.delete(sessionId, key));
  }

  private async run<T>(operation: (sessionId: string) => Promise<T>): Promise<T> {
    if (this.sessionId === undefined) throw new SessionDataError(SssMessages.noSessionId);
    return operation(this.sessionId);
  }
}
