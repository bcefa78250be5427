import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from './fixtures/event-log.service.js';
import { RawSocket } from './support/raw-socket.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';
import { upgradeStatus } from './support/upgrade-status.js';

describe('session guard at the HTTP upgrade', () => {
  let started: StartedApp;

  beforeAll(async () => {
    started = await startFixtureApp({ limits: { maxSocketsPerAddress: 3 } });
  });

  afterAll(async () => {
    await started.app.close();
  });

  it('refuses with 401 before any WebSocket exists when the guard throws UnauthorizedException', async () => {
    const connectsBefore = started.app.get(EventLog).events.filter((e) => e.startsWith('connect')).length;
    const result = await upgradeStatus(started.url, { cookie: 'token=stolen' });
    expect(result).toEqual({ status: 401, body: 'Unknown session' });
    expect(started.app.get(EventLog).events.filter((e) => e.startsWith('connect')).length).toBe(connectsBefore);
  });

  it('refuses with 403 when the guard returns false', async () => {
    expect((await upgradeStatus(started.url, { 'x-deny': 'yes' })).status).toBe(403);
  });

  it('accepts and passes user, session and locals from the guard (which got its dependencies injected)', async () => {
    const raw = await RawSocket.open(started.url, { cookie: 'theme=dark; token=token-ann-1' });
    try {
      const hello = raw.frames[0];
      expect(hello).toMatchObject({ t: 'hello', v: 1, userId: 'ann', sessionId: 'token-ann-1' });
      const whoami = await raw.request({ t: 'ask', id: 1, topic: 'whoami' });
      expect(whoami.data).toEqual({
        userId: 'ann',
        sessionId: 'token-ann-1',
        name: 'Ann',
        socketId: hello.socketId,
        sameSocket: true,
      });
    } finally {
      raw.close();
    }
  });

  it('leaves upgrades on other paths to other listeners', async () => {
    const server = started.app.getHttpServer() as import('node:http').Server;
    const teapot = (request: import('node:http').IncomingMessage, socket: import('node:stream').Duplex) => {
      if (request.url === '/elsewhere') socket.end('HTTP/1.1 418 I am a teapot\r\nContent-Length: 0\r\n\r\n');
    };
    server.on('upgrade', teapot);
    try {
      expect((await upgradeStatus(started.url.replace('/sss', '/elsewhere'))).status).toBe(418);
    } finally {
      server.off('upgrade', teapot);
    }
  });

  it('limits sockets per address with 429 and frees the slot on close', async () => {
    const sockets = await Promise.all([1, 2, 3].map(() => RawSocket.open(started.url)));
    expect((await upgradeStatus(started.url)).status).toBe(429);
    sockets[0].close();
    await sockets[0].waitClosed();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await RawSocket.open(started.url);
    again.close();
    for (const socket of sockets.slice(1)) socket.close();
  });

  it('closes with 4002 on an unsupported protocol version', async () => {
    const raw = new RawSocketWithoutHello(`${started.url}?v=99`);
    expect(await raw.closed).toEqual({ code: 4002, reason: 'Unsupported protocol version 99; this server speaks 1.' });
  });

  it('frees the address slot of connections refused for their protocol version', async () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      expect((await new RawSocketWithoutHello(`${started.url}?v=99`).closed).code).toBe(4002);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const sockets = await Promise.all([1, 2, 3].map(() => RawSocket.open(started.url)));
    for (const socket of sockets) socket.close();
    await Promise.all(sockets.map((socket) => socket.waitClosed()));
  });
});

class RawSocketWithoutHello {
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.closed = import('ws').then(
      ({ default: WebSocket }) =>
        new Promise((resolve) => {
          const ws = new WebSocket(url);
          ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        }),
    );
  }
}
