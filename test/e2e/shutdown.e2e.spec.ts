import { describe, expect, it } from 'vitest';
import { RawSocket } from './support/raw-socket.js';
import { startFixtureApp } from './support/start-app.js';
import { upgradeStatus } from './support/upgrade-status.js';

describe('graceful shutdown', () => {
  it('tells open sockets to go elsewhere (1001) and never hangs on them', async () => {
    const started = await startFixtureApp();
    const sockets = await Promise.all([1, 2, 3].map(() => RawSocket.open(started.url)));
    await sockets[0].request({ t: 'sub', id: 1, channel: 'news' });
    const began = Date.now();
    await started.app.close();
    expect(Date.now() - began).toBeLessThan(2_000);
    for (const socket of sockets) expect((await socket.waitClosed()).code).toBe(1001);
    await expect(upgradeStatus(started.url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('terminates sockets that do not answer the close within shutdownTimeout', async () => {
    const started = await startFixtureApp({ shutdownTimeout: 200 });
    const raw = await RawSocket.open(started.url);
    // A client that never completes the closing handshake: pause its reading.
    (raw.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const began = Date.now();
    await started.app.close();
    expect(Date.now() - began).toBeLessThan(1_500);
    raw.close();
  });
});
