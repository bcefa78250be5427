/** Error codes the client produces itself; codes from server `err` frames pass through unchanged. */
export const SssClientErrorCode = {
  /** The WebSocket could not be opened or closed before the server's `hello`. */
  ConnectFailed: 'CONNECT_FAILED',
  /** The server answered the upgrade with an HTTP error (`status` holds it when known). */
  HandshakeRejected: 'HANDSHAKE_REJECTED',
  /** The server speaks another protocol version (close code 4002). */
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  /** The server booted this socket (close code 4001). */
  Booted: 'BOOTED',
  /** No answer within the request's timeout. */
  Timeout: 'TIMEOUT',
  /** The client was closed with `close()` (or never connected). */
  Closed: 'CLOSED',
  /** The connection dropped while the request was in flight: it may or may not have run. */
  Disconnected: 'DISCONNECTED',
  /** A channel message arrived after a missing sequence number. */
  SequenceGap: 'SEQUENCE_GAP',
  /** A frame could not be serialised, or a server frame could not be read. */
  BadFrame: 'BAD_FRAME',
  /** An application listener threw; the thrown value is the `cause`. */
  ListenerError: 'LISTENER_ERROR',
  /** The connection's credential expired without a refresh (close code 4003). */
  CredentialsExpired: 'CREDENTIALS_EXPIRED',
  /** The server refused the refreshed credential (close code 4004). */
  CredentialsRefused: 'CREDENTIALS_REFUSED',
  /** `getToken()` threw, rejected or gave no string; the refresh is retried with backoff. */
  RefreshFailed: 'REFRESH_FAILED',
} as const;
export type SssClientErrorCode = (typeof SssClientErrorCode)[keyof typeof SssClientErrorCode];

/** Extra fields of an `SssClientError`. */
export interface SssClientErrorOptions {
  /** The HTTP status of a rejected handshake. */
  status?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Every error the client rejects with or emits: a stable `code` plus optional `details`. */
export class SssClientError extends Error {
  /** An `SssClientErrorCode` or the code of the server's `err` frame (for example `FORBIDDEN`). */
  readonly code: string;
  /** The server's `details`, or client-side context. */
  readonly details?: unknown;
  /** The HTTP status of a rejected handshake (`HANDSHAKE_REJECTED`), when known. */
  readonly status?: number;

  constructor(code: string, message: string, details?: unknown, options: SssClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SssClientError';
    this.code = code;
    if (details !== undefined) this.details = details;
    if (options.status !== undefined) this.status = options.status;
  }
}
