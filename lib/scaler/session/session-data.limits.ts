import { SessionDataError } from '../../errors/session-data.error.js';
import { SssMessages } from '../../sss.messages.js';

/** How long a session key lives after its last `set` when no `ttlMs` is given: one hour. */
export const DEFAULT_SESSION_TTL_MS = 3_600_000;
/** The longest TTL a session key may have: 30 days. */
export const MAX_SESSION_TTL_MS = 30 * 86_400_000;
/** The most keys one session holds at once. */
export const MAX_SESSION_KEYS = 100;
/** The largest JSON encoding of one value, in UTF-8 bytes: 64 KiB. */
export const MAX_SESSION_VALUE_BYTES = 65_536;
/** The longest key, in characters. */
export const MAX_SESSION_KEY_LENGTH = 128;
/** The longest session id, in characters. */
export const MAX_SESSION_ID_LENGTH = 256;

/** Checks a session id and a key; throws `SessionDataError` saying what is wrong. */
export function checkSessionKey(sessionId: string, key: string): void {
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) {
    throw new SessionDataError(SssMessages.invalidSessionId(MAX_SESSION_ID_LENGTH));
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_SESSION_KEY_LENGTH) {
    throw new SessionDataError(SssMessages.invalidSessionKey(MAX_SESSION_KEY_LENGTH));
  }
}

/** The TTL a `set` uses; throws `SessionDataError` for one that is not a positive integer in range. */
export function sessionTtlOf(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return DEFAULT_SESSION_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_SESSION_TTL_MS) {
    throw new SessionDataError(SssMessages.invalidSessionTtl(MAX_SESSION_TTL_MS));
  }
  return ttlMs;
}

/** The JSON a value is stored as; throws `SessionDataError` when it has none or is too large. */
export function encodeSessionValue(key: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new SessionDataError(SssMessages.sessionValueNotJson(key, (error as Error).message));
  }
  if (json === undefined) throw new SessionDataError(SssMessages.sessionValueNotJson(key, 'it has no JSON form'));
  if (json.length > MAX_SESSION_VALUE_BYTES / 3 && Buffer.byteLength(json) > MAX_SESSION_VALUE_BYTES) {
    throw new SessionDataError(SssMessages.sessionValueTooLarge(key, MAX_SESSION_VALUE_BYTES));
  }
  return json;
}
