import { CloseCode, PROTOCOL_VERSION, type HelloFrame } from '../protocol/frames.js';
import type { WebSocketLike } from './sss-client-options.interface.js';
import { SssClientError, SssClientErrorCode } from './sss-client.error.js';
import { parseServerFrame } from './server-frame.parser.js';
import { discardSocket } from './websocket-closing.js';

const HANDSHAKE_STATUS_PATTERN = /Unexpected server response: (\d{3})/;

/**
 * One attempt to open a connection: waits for the socket to open and the server's `hello`, within a
 * timeout. `onHello` runs synchronously on the `hello` frame, so the caller can take the socket over
 * before its next frame arrives; then `hello` resolves. Any failure drops the socket and rejects
 * with `CONNECT_FAILED`, `HANDSHAKE_REJECTED` (with `status` when known), `BOOTED` or `UNSUPPORTED_VERSION`.
 */
export class ConnectionAttempt {
  /** Resolves with the server's `hello` once `onHello` ran. */
  readonly hello: Promise<HelloFrame>;
  private settled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private rejectHello!: (error: SssClientError) => void;

  /**
   * @param socket a socket just created, not open yet.
   * @param timeout ms until the attempt fails without a `hello`.
   * @param onHello takes the socket over (its handlers are the attempt's until then).
   */
  constructor(
    private readonly socket: WebSocketLike,
    timeout: number,
    onHello: (hello: HelloFrame) => void,
  ) {
    this.hello = new Promise<HelloFrame>((resolve, reject) => {
      this.rejectHello = reject;
      let socketError: SssClientError | undefined;
      this.timer = setTimeout(
        () => this.abort(new SssClientError(SssClientErrorCode.ConnectFailed, `No hello within ${timeout} ms`)),
        timeout,
      );
      socket.onerror = (event) => {
        socketError ??= errorFromSocketEvent(event);
      };
      socket.onclose = (event) => this.abort(errorFromEarlyClose(event.code, event.reason, socketError));
      socket.onmessage = (event) => {
        const frame = parseServerFrame(event.data);
        if (frame?.t !== 'hello') {
          this.abort(
            new SssClientError(SssClientErrorCode.ConnectFailed, 'The server did not start with hello', frame),
          );
          return;
        }
        this.settle();
        onHello(frame);
        resolve(frame);
      };
    });
  }

  /** Gives up: drops the socket and rejects `hello` with `error` (nothing happens once settled). */
  abort(error: SssClientError): void {
    if (this.settled) return;
    this.settle();
    discardSocket(this.socket);
    this.rejectHello(error);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}

/** The error of a close received instead of `hello`: booted, wrong version, or the socket's own failure. */
export function errorFromEarlyClose(
  code: number,
  reason: string,
  socketError: SssClientError | undefined,
): SssClientError {
  if (code === CloseCode.Booted)
    return new SssClientError(SssClientErrorCode.Booted, `Booted by the server: ${reason}`, { reason });
  if (code === CloseCode.UnsupportedVersion) return unsupportedVersionError(reason);
  return (
    socketError ??
    new SssClientError(SssClientErrorCode.ConnectFailed, `Closed before hello (code ${code})`, { code, reason })
  );
}

/** The error of a close with 4002. */
export function unsupportedVersionError(reason: string): SssClientError {
  return new SssClientError(
    SssClientErrorCode.UnsupportedVersion,
    `The server does not speak protocol version ${PROTOCOL_VERSION}: ${reason}`,
    { reason, version: PROTOCOL_VERSION },
  );
}

/** Reads the HTTP status `ws` puts in its handshake errors; browsers (and Node's global WebSocket) give none. */
function errorFromSocketEvent(event: unknown): SssClientError {
  const detail = event as { message?: unknown; error?: { message?: unknown } } | undefined;
  const message = typeof detail?.message === 'string' ? detail.message : detail?.error?.message;
  const text = typeof message === 'string' && message !== '' ? message : 'The WebSocket connection failed';
  const status = HANDSHAKE_STATUS_PATTERN.exec(text)?.[1];
  if (status !== undefined) {
    return new SssClientError(
      SssClientErrorCode.HandshakeRejected,
      `The server rejected the handshake: ${text}`,
      undefined,
      { status: Number(status), cause: detail?.error },
    );
  }
  return new SssClientError(SssClientErrorCode.ConnectFailed, text, undefined, { cause: detail?.error });
}
