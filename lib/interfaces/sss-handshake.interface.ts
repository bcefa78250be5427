import type { IncomingMessage } from 'node:http';

/**
 * What the session guards see and shape during the HTTP upgrade. A guard reads `request` (cookies,
 * headers, query, origin) and sets `userId`, `sessionId` and `locals` for the socket to come, and
 * `expiresAt` when the credential expires.
 *
 * The guards run again when a client of an expiring connection sends a fresh credential in-band
 * (`client.getToken`, the `auth` frame): `credential` then holds it, `request` is still the original
 * upgrade request (so a guard that reads cookies keeps working), `locals` is the socket's, and the
 * guards must set the same `userId` and `sessionId` as at the upgrade (another one is refused).
 *
 * @example
 * ```ts
 * const handshake = SssExecutionContext.create(context).getHandshake()!;
 * const token = handshake.credential ?? bearerToken(handshake.request);
 * const claims = await this.jwt.verifyAsync(token); // throws: 401, or the refresh is refused
 * handshake.userId = claims.sub;
 * handshake.expiresAt = claims.exp * 1000;
 * ```
 */
export interface SssHandshake {
  /** The upgrade request (on a refresh: the original upgrade request of the socket). */
  readonly request: IncomingMessage;
  /** The credential the client sent in-band to refresh an expiring connection; `undefined` at the upgrade. */
  readonly credential?: string;
  /** The client address: the TCP peer, or the right-most untrusted X-Forwarded-For hop (`trustProxy`). */
  readonly address: string;
  /** Makes the socket reachable through `SssPublisher.toUser()` on every instance. */
  userId?: string;
  /** Makes the socket reachable through `SssPublisher.toSession()` on every instance. */
  sessionId?: string;
  /** Anything the app wants to keep with the socket (`socket.locals`). */
  locals: Record<string, unknown>;
  /**
   * What other subscribers of presence-tracked channels see of this user (`info` of presence
   * members and join/leave events), e.g. `{ name: 'Ada' }`: a plain object whose JSON is at most
   * 1 KiB. Default: nothing.
   */
  presence?: Record<string, unknown>;
  /**
   * When the credential expires, in ms since the epoch (a JWT's `exp * 1000`). The server then asks
   * the client to refresh `credentials.refreshLeadTime` before, and closes the socket with 4003 at
   * `expiresAt + credentials.expiryGrace` unless a refresh came. Default: the connection does not
   * expire. Not a finite number: the upgrade is answered with 500 (the refresh fails with INTERNAL_ERROR).
   */
  expiresAt?: number;
}
