import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { StallGuard } from './fixtures/stall.guard.js';
import { eventually } from './support/clients.js';
import { RawSocket } from './support/raw-socket.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';
import { upgradeStatus } from './support/upgrade-status.js';

/** `upgradeStatus`, or 'no answer' when the server neither answers nor closes within `ms`. */
function upgradeStatusWithin(
  url: string,
  headers: Record<string, string> = {},
  ms = 3_000,
): Promise<{ status: number; body: string } | 'no answer'> {
  return Promise.race([
    upgradeStatus(url, headers),
    new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), ms)),
  ]);
}

describe('every upgrade gets an answer', () => {
  let started: StartedApp | undefined;

  afterEach(async () => {
    await started?.app.close();
    started = undefined;
  });

  it('answers 404 and closes an upgrade on another path when nobody else listens for upgrades', async () => {
    started = await startFixtureApp();
    const server = started.app.getHttpServer() as Server;
    expect(server.listenerCount('upgrade')).toBe(1);
    const result = await upgradeStatusWithin(started.url.replace('/sss', '/elsewhere'));
    expect(result).toEqual({ status: 404, body: 'No WebSocket endpoint at this path.' });
  });

  it('still leaves upgrades on other paths to another upgrade listener when there is one', async () => {
    started = await startFixtureApp();
    const server = started.app.getHttpServer() as Server;
    const teapot = (_request: unknown, socket: import('node:stream').Duplex) =>
      socket.end('HTTP/1.1 418 I am a teapot\r\nContent-Length: 0\r\n\r\n');
    server.on('upgrade', teapot);
    expect(await upgradeStatusWithin(started.url.replace('/sss', '/elsewhere'))).toMatchObject({ status: 418 });
    server.off('upgrade', teapot);
  });

  it('answers 503 when the session guards take longer than handlerTimeout', async () => {
    started = await startFixtureApp({ sessionGuards: StallGuard, limits: { handlerTimeout: 300 } });
    const startedAt = Date.now();
    const result = await upgradeStatusWithin(started.url, { 'x-stall-ms': '60000' });
    expect(result).toEqual({ status: 503, body: 'The session check did not finish in time; retry.' });
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('counts upgrades still in their session guards against maxSocketsPerAddress', async () => {
    started = await startFixtureApp({
      sessionGuards: StallGuard,
      limits: { maxSocketsPerAddress: 2, handlerTimeout: 5_000 },
    });
    const url = started.url;
    // (The check the test before left stalling for 60 s may still be counted.)
    const before = StallGuard.stalling;
    const pending = [upgradeStatus(url, { 'x-stall-ms': '2000' }), upgradeStatus(url, { 'x-stall-ms': '2000' })];
    await eventually(() => expect(StallGuard.stalling).toBe(before + 2));
    expect((await upgradeStatus(url)).status).toBe(429);
    expect((await Promise.all(pending)).map((result) => result.status)).toEqual([101, 101]);
  });

  it('leaves no connection open after refused and other-path upgrades', async () => {
    started = await startFixtureApp();
    const server = started.app.getHttpServer() as Server;
    for (let i = 0; i < 20; i++) await upgradeStatusWithin(started.url.replace('/sss', `/nowhere/${i}`));
    const open = await new Promise<number>((resolve, reject) =>
      server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
    expect(open).toBe(0);
  });
});

describe('allowedOrigins', () => {
  let started: StartedApp | undefined;

  afterEach(async () => {
    await started?.app.close();
    started = undefined;
  });

  it('answers 403 before the 101 when the Origin is not listed', async () => {
    started = await startFixtureApp({ allowedOrigins: ['https://chat.example.com'] });
    expect(await upgradeStatusWithin(started.url, { origin: 'https://evil.example.net' })).toEqual({
      status: 403,
      body: 'Origin not allowed.',
    });
    expect(await upgradeStatusWithin(started.url, { origin: 'https://chat.example.com' })).toMatchObject({
      status: 101,
    });
    // Non-browser clients send no Origin (and could send any): not what the check is for.
    expect(await upgradeStatusWithin(started.url)).toMatchObject({ status: 101 });
  });

  it('accepts a predicate, which also sees requests without an Origin', async () => {
    const seen: Array<string | undefined> = [];
    started = await startFixtureApp({
      allowedOrigins: (origin) => {
        seen.push(origin);
        return origin?.endsWith('.example.com') ?? false;
      },
    });
    expect(await upgradeStatusWithin(started.url, { origin: 'https://a.example.com' })).toMatchObject({ status: 101 });
    expect(await upgradeStatusWithin(started.url, { origin: 'https://a.example.org' })).toMatchObject({ status: 403 });
    expect(await upgradeStatusWithin(started.url)).toMatchObject({ status: 403 });
    expect(seen).toEqual(['https://a.example.com', 'https://a.example.org', undefined]);
  });

  it('checks nothing by default', async () => {
    started = await startFixtureApp();
    expect(await upgradeStatusWithin(started.url, { origin: 'https://anywhere.example' })).toMatchObject({
      status: 101,
    });
  });
});

describe('trustProxy takes the right-most untrusted X-Forwarded-For hop', () => {
  let started: StartedApp | undefined;
  const sockets: RawSocket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await started?.app.close();
    started = undefined;
  });

  // What nginx's $proxy_add_x_forwarded_for sends: whatever the client claimed, then the real peer.
  const viaProxy = (claimed: string, real: string) => ({ 'x-forwarded-for': `${claimed}, ${real}` });

  it.each([
    ['loopback', 'loopback'],
    ['a hop count', 1],
    ['a CIDR list', ['127.0.0.0/8', '::1/128']],
    ['a predicate', (address: string) => address === '127.0.0.1' || address === '::ffff:127.0.0.1'],
  ])('with %s, spoofed first entries do not escape the per-address limit', async (_name, trustProxy) => {
    started = await startFixtureApp({ trustProxy, limits: { maxSocketsPerAddress: 2 } });
    sockets.push(await RawSocket.open(started.url, viaProxy('10.0.0.1', '203.0.113.7')));
    sockets.push(await RawSocket.open(started.url, viaProxy('10.0.0.2', '203.0.113.7')));
    expect(await upgradeStatusWithin(started.url, viaProxy('10.0.0.3', '203.0.113.7'))).toMatchObject({
      status: 429,
    });
    // Another real client behind the same proxy has its own count.
    sockets.push(await RawSocket.open(started.url, viaProxy('10.0.0.1', '198.51.100.9')));
  });

  it('with true, trusts every hop and takes the left-most entry (documented risk)', async () => {
    started = await startFixtureApp({ trustProxy: true, limits: { maxSocketsPerAddress: 1 } });
    sockets.push(await RawSocket.open(started.url, viaProxy('10.0.0.1', '203.0.113.7')));
    expect(await upgradeStatusWithin(started.url, viaProxy('10.0.0.2', '203.0.113.7'))).toMatchObject({ status: 101 });
    expect(await upgradeStatusWithin(started.url, viaProxy('10.0.0.1', '198.51.100.9'))).toMatchObject({ status: 429 });
  });

  it('ignores X-Forwarded-For from a peer that is not trusted', async () => {
    started = await startFixtureApp({ trustProxy: ['192.0.2.1'], limits: { maxSocketsPerAddress: 1 } });
    sockets.push(await RawSocket.open(started.url, viaProxy('10.0.0.1', '203.0.113.7')));
    expect(await upgradeStatusWithin(started.url, viaProxy('10.0.0.2', '198.51.100.9'))).toMatchObject({
      status: 429,
    });
  });

  it('reports the resolved address to the app', async () => {
    started = await startFixtureApp({ trustProxy: 'loopback' });
    const raw = await RawSocket.open(started.url, viaProxy('6.6.6.6', '203.0.113.7'));
    sockets.push(raw);
    expect(await raw.request({ t: 'ask', id: 1, topic: 'hostile.address' })).toMatchObject({ data: '203.0.113.7' });
  });
});
