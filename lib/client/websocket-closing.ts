import { CloseCode } from '../protocol/frames.js';
import type { WebSocketLike } from './sss-client-options.interface.js';

/** How long a graceful close waits for the closing handshake before dropping the connection. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000;
const READY_STATE_CLOSED = 3;

/** Forgets a socket and drops it without a closing handshake. */
export function discardSocket(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  // `ws` throws an 'error' event that has no listener, so keep one.
  socket.onerror = () => undefined;
  try {
    if (socket.terminate) socket.terminate();
    else socket.close();
  } catch {
    // Already closed.
  }
}

/** Closes with code 1000 and waits for the closing handshake, dropping the socket if it takes too long. */
export function closeSocketGracefully(socket: WebSocketLike): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      discardSocket(socket);
      resolve();
    }, CLOSE_HANDSHAKE_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.onmessage = null;
    socket.onerror = () => undefined;
    socket.onclose = done;
    try {
      socket.close(CloseCode.Normal);
    } catch {
      done();
      return;
    }
    if (socket.readyState === READY_STATE_CLOSED) done();
  });
}
