import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionAttempt } from '../../../lib/client/connection-attempt.js';
import type { WebSocketLike } from '../../../lib/client/sss-client-options.interface.js';
import { SssClientError } from '../../../lib/client/sss-client.error.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** A socket the test drives by calling its handlers. */
function fakeSocket(): WebSocketLike & { terminated: boolean } {
  const socket = {
    readyState: 0,
    terminated: false,
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send: () => undefined,
    close: () => undefined,
    terminate: () => {
      socket.terminated = true;
    },
  } as WebSocketLike & { terminated: boolean };
  return socket;
}

const hello = JSON.stringify({ t: 'hello', v: 1, socketId: 's1', heartbeat: 25_000 });

describe('ConnectionAttempt', () => {
  it('runs onHello synchronously on hello, then resolves', async () => {
    const socket = fakeSocket();
    const order: string[] = [];
    const attempt = new ConnectionAttempt(socket, 1000, (frame) => order.push(`hello ${frame.socketId}`));
    socket.onmessage!({ data: hello });
    order.push('after the frame');
    await expect(attempt.hello).resolves.toMatchObject({ t: 'hello', socketId: 's1' });
    expect(order).toEqual(['hello s1', 'after the frame']);
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.terminated).toBe(false);
  });

  it('fails with CONNECT_FAILED and drops the socket when no hello comes in time', async () => {
    const socket = fakeSocket();
    const attempt = new ConnectionAttempt(socket, 1000, () => undefined);
    const failed = attempt.hello.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(999);
    expect(socket.terminated).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(failed).resolves.toMatchObject({ code: 'CONNECT_FAILED', message: 'No hello within 1000 ms' });
    expect(socket.terminated).toBe(true);
  });

  it('fails when the first frame is not hello', async () => {
    const socket = fakeSocket();
    const attempt = new ConnectionAttempt(socket, 1000, () => undefined);
    socket.onmessage!({ data: JSON.stringify({ t: 'pong' }) });
    await expect(attempt.hello).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports a refused upgrade with its HTTP status when the socket tells it', async () => {
    const socket = fakeSocket();
    const attempt = new ConnectionAttempt(socket, 1000, () => undefined);
    socket.onerror!({ message: 'Unexpected server response: 401' });
    socket.onclose!({ code: 1006, reason: '' });
    await expect(attempt.hello).rejects.toMatchObject({ code: 'HANDSHAKE_REJECTED', status: 401 });
  });

  it.each([
    [4001, 'BOOTED'],
    [4002, 'UNSUPPORTED_VERSION'],
    [1006, 'CONNECT_FAILED'],
  ])('maps a close with %i before hello to %s', async (code, expected) => {
    const socket = fakeSocket();
    const attempt = new ConnectionAttempt(socket, 1000, () => undefined);
    socket.onclose!({ code, reason: 'why' });
    await expect(attempt.hello).rejects.toMatchObject({ code: expected });
  });

  it('abort rejects with the given error once, and drops the socket', async () => {
    const socket = fakeSocket();
    const onHello = vi.fn();
    const attempt = new ConnectionAttempt(socket, 1000, onHello);
    attempt.abort(new SssClientError('CLOSED', 'closed while connecting'));
    attempt.abort(new SssClientError('OTHER', 'ignored'));
    await expect(attempt.hello).rejects.toMatchObject({ code: 'CLOSED' });
    expect(socket.terminated).toBe(true);
    expect(socket.onmessage).toBeNull();
    expect(onHello).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
