import type { IncomingMessage } from 'node:http';

/**
 * What the session guards see and shape during the HTTP upgrade. A guard reads `request` (cookies,
 * headers, query, origin) and sets `userId`, `sessionId` and `locals` for the socket to come.
 */
export interface SssHandshake {
  /** The upgrade request. */
  readonly request: IncomingMessage;
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
}
