import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SssClient,
  SssClientError,
  type Listener,
  type SssClientEvents,
  type SssClientOptions,
  type SssClientStatus,
  type SssReconnectEvent,
  type WebSocketConstructor,
} from '../../../lib/client/index.js';
import { ScriptedServer, type ScriptedServerOptions } from './scripted-ws-server.helper.js';

const servers: ScriptedServer[] = [];
const clients: SssClient[] = [];

async function startServer(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const server = await ScriptedServer.start(options);
  servers.push(server);
  return server;
}

function createClient(server: ScriptedServer | string, options: SssClientOptions = {}): SssClient {
  const url = typeof server === 'string' ? server : server.url;
  const client = new SssClient(url, { reconnect: { initialDelay: 20, maxDelay: 100, factor: 2 }, ...options });
  clients.push(client);
  return client;
}

async function connected(options: ScriptedServerOptions = {}, clientOptions: SssClientOptions = {}) {
  const server = await startServer(options);
  const client = createClient(server, clientOptions);
  await client.connect();
  const connection = await server.connection(0);
  return { server, client, connection };
}

function nextEvent<E extends keyof SssClientEvents>(client: SssClient, event: E): Promise<SssClientEvents[E][0]> {
  return new Promise((resolve) => {
    const remove = client.on(event, ((...args: SssClientEvents[E]) => {
      remove();
      resolve(args[0]);
    }) as Listener<SssClientEvents[E]>);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('SssClient handshake', () => {
  it('connects, sends the protocol version and exposes the hello', async () => {
    const server = await startServer({ autoHello: false });
    const client = createClient(server);
    const statuses: SssClientStatus[] = [];
    client.on('status', (status) => statuses.push(status));
    const connecting = client.connect();
    const connection = await server.connection(0);
    expect(connection.url.searchParams.get('v')).toBe('1');
    expect(connection.url.pathname).toBe('/sss');
    connection.hello({ socketId: 'abc', userId: 'u1', sessionId: 's1', heartbeat: 30_000 });
    await expect(connecting).resolves.toEqual({ socketId: 'abc', userId: 'u1', sessionId: 's1', heartbeat: 30_000 });
    expect([client.socketId, client.userId, client.sessionId, client.status]).toEqual(['abc', 'u1', 's1', 'open']);
    expect(statuses).toEqual(['connecting', 'open']);
  });

  it('rejects with HANDSHAKE_REJECTED and the status when the upgrade is refused, without retrying', async () => {
    let attempts = 0;
    const server = await startServer({
      verifyClient: (_info, callback) => {
        attempts += 1;
        callback(false, 401, 'Unauthorized');
      },
    });
    const client = createClient(server);
    const error = await client.connect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SssClientError);
    expect(error).toMatchObject({ code: 'HANDSHAKE_REJECTED', status: 401 });
    expect(client.status).toBe('closed');
    await sleep(100);
    expect(attempts).toBe(1);
  });

  it('rejects with CONNECT_FAILED when nothing listens', async () => {
    const server = await startServer();
    const url = server.url;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const client = createClient(url);
    await expect(client.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(client.status).toBe('closed');
  });

  it('uses options.WebSocket when given', async () => {
    const { WebSocket } = await import('ws');
    const urls: string[] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        urls.push(url);
      }
    }
    const server = await startServer();
    const client = createClient(server, { WebSocket: RecordingWebSocket as unknown as WebSocketConstructor });
    await client.connect();
    expect(urls).toEqual([`${server.url}?v=1`]);
  });

  it('rejects requests made before connect() with CLOSED', async () => {
    const client = createClient('ws://127.0.0.1:1/sss');
    await expect(client.ask('x')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('sends options.headers with the upgrade request in Node', async () => {
    const server = await startServer();
    const client = createClient(server, { headers: { cookie: 'sid=42' } });
    await client.connect();
    const connection = await server.connection(0);
    expect(connection.request.headers.cookie).toBe('sid=42');
  });
});

describe('SssClient requests', () => {
  it('ask resolves with res.data', async () => {
    const { client, connection } = await connected();
    const answer = client.ask<number>('serverTime', { zone: 'UTC' });
    const frame = await connection.next('ask');
    expect(frame).toEqual({ t: 'ask', id: 1, topic: 'serverTime', data: { zone: 'UTC' } });
    connection.send({ t: 'res', id: frame.id, data: 1234 });
    await expect(answer).resolves.toBe(1234);
  });

  it('uses increasing ids and settles concurrent requests by id', async () => {
    const { client, connection } = await connected();
    const first = client.ask('a');
    const second = client.ask('b');
    const [a, b] = [await connection.next('ask'), await connection.next('ask')];
    expect(b.id).toBe(a.id + 1);
    connection.send({ t: 'res', id: b.id, data: 'B' });
    connection.send({ t: 'res', id: a.id, data: 'A' });
    await expect(Promise.all([first, second])).resolves.toEqual(['A', 'B']);
  });

  it('ask rejects with the err frame as an SssClientError', async () => {
    const { client, connection } = await connected();
    const answer = client.ask('secret');
    const frame = await connection.next('ask');
    connection.send({ t: 'err', id: frame.id, code: 'FORBIDDEN', message: 'No', details: { need: 'admin' } });
    const error = await answer.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SssClientError);
    expect(error).toMatchObject({ code: 'FORBIDDEN', message: 'No', details: { need: 'admin' } });
  });

  it('ask rejects with TIMEOUT after askTimeout and ignores the late answer', async () => {
    const { client, connection } = await connected({}, { askTimeout: 50 });
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    await expect(client.ask('slow')).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(client.ask('slow', undefined, { timeout: 10 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    connection.send({ t: 'res', id: 1, data: 'late' });
    await sleep(20);
    expect(errors).toEqual([]);
  });

  it('tell resolves on ack', async () => {
    const { client, connection } = await connected();
    const told = client.tell('likedMsg', { id: 7 });
    const frame = await connection.next('tell');
    expect(frame).toEqual({ t: 'tell', id: 1, topic: 'likedMsg', data: { id: 7 } });
    connection.send({ t: 'ack', id: frame.id });
    await expect(told).resolves.toBeUndefined();
  });

  it('emits error for an err frame without id and routes server tells by topic', async () => {
    const { client, connection } = await connected();
    const announcements: unknown[] = [];
    const remove = client.onTell('announcement', (data) => announcements.push(data));
    client.onTell('other', () => announcements.push('wrong'));
    const error = nextEvent(client, 'error');
    connection.send({ t: 'err', code: 'BAD_FRAME', message: 'Unreadable' });
    connection.send({ t: 'tell', topic: 'announcement', data: 'hi' });
    await expect(error).resolves.toMatchObject({ code: 'BAD_FRAME', message: 'Unreadable' });
    await vi.waitFor(() => expect(announcements).toEqual(['hi']));
    remove();
    connection.send({ t: 'tell', topic: 'announcement', data: 'again' });
    await sleep(20);
    expect(announcements).toEqual(['hi']);
  });

  it('reports a throwing listener as LISTENER_ERROR instead of breaking the socket', async () => {
    const { client, connection } = await connected();
    client.onTell('boom', () => {
      throw new Error('app bug');
    });
    const error = nextEvent(client, 'error');
    connection.send({ t: 'tell', topic: 'boom' });
    await expect(error).resolves.toMatchObject({ code: 'LISTENER_ERROR' });
    const answer = client.ask('still');
    const frame = await connection.next('ask');
    connection.send({ t: 'res', id: frame.id, data: 'alive' });
    await expect(answer).resolves.toBe('alive');
  });

  it('close() rejects pending requests with CLOSED, closes with 1000 and does not reconnect', async () => {
    const { server, client, connection } = await connected();
    const answer = client.ask('never');
    await connection.next('ask');
    const closing = client.close();
    await expect(answer).rejects.toMatchObject({ code: 'CLOSED' });
    await closing;
    await expect(connection.closed).resolves.toMatchObject({ code: 1000 });
    expect(client.status).toBe('closed');
    await sleep(100);
    expect(server.connections).toHaveLength(1);
    await expect(client.ask('after')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('SssClient subscriptions', () => {
  it('subscribes, delivers a burst sent right after subbed, and drops duplicates', async () => {
    const { client, connection } = await connected();
    const subscribing = client.subscribe<{ title: string }>('room/1', { role: 'guest' });
    const frame = await connection.next('sub');
    expect(frame).toEqual({ t: 'sub', id: 1, channel: 'room/1', query: { role: 'guest' } });
    connection.sendAll([
      { t: 'subbed', id: frame.id, channel: 'room/1', epoch: 'e1', seq: 5, data: { title: 'Room' } },
      { t: 'msg', channel: 'room/1', topic: 'chat', data: 'six', seq: 6, epoch: 'e1' },
      { t: 'msg', channel: 'room/1', topic: 'chat', data: 'six again', seq: 6, epoch: 'e1' },
      { t: 'msg', channel: 'room/1', topic: 'join', data: 'seven', seq: 7, epoch: 'e1' },
      { t: 'msg', channel: 'room/1', topic: 'chat', data: 'old', seq: 5, epoch: 'e1' },
      { t: 'msg', channel: 'other', topic: 'chat', data: 'not mine', seq: 8, epoch: 'e1' },
    ]);
    const sub = await subscribing;
    expect(sub.channel).toBe('room/1');
    expect(sub.data).toEqual({ title: 'Room' });
    const chats: unknown[] = [];
    const everything: unknown[] = [];
    sub.on('chat', (data, meta) => chats.push([data, meta]));
    sub.onAny((topic, data) => everything.push(`${topic}:${String(data)}`));
    await vi.waitFor(() => expect(everything).toEqual(['chat:six', 'join:seven']));
    expect(chats).toEqual([['six', { channel: 'room/1', topic: 'chat', seq: 6, epoch: 'e1' }]]);
    expect(sub.position).toEqual({ epoch: 'e1', seq: 7 });
  });

  it('emits SEQUENCE_GAP on a gap and re-subscribes from the last good position', async () => {
    const { client, connection } = await connected();
    const subscribing = client.subscribe('room/1');
    const frame = await connection.next('sub');
    connection.send({ t: 'subbed', id: frame.id, channel: 'room/1', epoch: 'e1', seq: 0 });
    const sub = await subscribing;
    const seen: number[] = [];
    sub.on('chat', (_data, meta) => seen.push(meta.seq));
    const error = nextEvent(client, 'error');
    connection.send({ t: 'msg', channel: 'room/1', topic: 'chat', seq: 3, epoch: 'e1' });
    await expect(error).resolves.toMatchObject({ code: 'SEQUENCE_GAP' });
    await expect(connection.next('unsub')).resolves.toMatchObject({ channel: 'room/1' });
    const resub = await connection.next('sub');
    expect(resub.since).toEqual({ epoch: 'e1', seq: 0 });
    connection.sendAll([
      { t: 'subbed', id: resub.id, channel: 'room/1', epoch: 'e1', seq: 0, recovered: true },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 1, epoch: 'e1' },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 2, epoch: 'e1' },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 3, epoch: 'e1' },
    ]);
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3]));
  });

  it('subscribe rejects on err', async () => {
    const { client, connection } = await connected();
    const subscribing = client.subscribe('admin');
    const frame = await connection.next('sub');
    connection.send({ t: 'err', id: frame.id, code: 'FORBIDDEN', message: 'Forbidden' });
    await expect(subscribing).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('unsubscribe sends unsub, waits for ack and closes the subscription', async () => {
    const { client, connection } = await connected();
    const subscribing = client.subscribe('room/1');
    const frame = await connection.next('sub');
    connection.send({ t: 'subbed', id: frame.id, channel: 'room/1', epoch: 'e1', seq: 0 });
    const sub = await subscribing;
    const closed = vi.fn();
    sub.onEvent('closed', closed);
    const unsubscribing = sub.unsubscribe();
    const unsub = await connection.next('unsub');
    expect(unsub).toEqual({ t: 'unsub', id: 2, channel: 'room/1' });
    connection.send({ t: 'ack', id: unsub.id });
    await expect(unsubscribing).resolves.toBeUndefined();
    expect(closed).toHaveBeenCalledWith({ reason: 'unsubscribed' });
    expect(sub.closed).toBe(true);
  });

  it('closes the subscription on unsubbed', async () => {
    const { client, connection } = await connected();
    const subscribing = client.subscribe('room/1');
    const frame = await connection.next('sub');
    connection.send({ t: 'subbed', id: frame.id, channel: 'room/1', epoch: 'e1', seq: 0 });
    const sub = await subscribing;
    const closed = new Promise((resolve) => sub.onEvent('closed', resolve));
    connection.send({ t: 'unsubbed', channel: 'room/1', reason: 'room deleted' });
    await expect(closed).resolves.toEqual({ reason: 'room deleted' });
  });

  it('closes subscriptions on client.close()', async () => {
    const { client, connection } = await connected();
    const subscribing = client.subscribe('room/1');
    const frame = await connection.next('sub');
    connection.send({ t: 'subbed', id: frame.id, channel: 'room/1', epoch: 'e1', seq: 0 });
    const sub = await subscribing;
    const closed = vi.fn();
    sub.onEvent('closed', closed);
    await client.close();
    expect(closed).toHaveBeenCalledWith({ reason: 'client_closed' });
  });
});

describe('SssClient reconnection', () => {
  async function subscribedAt(seq: number) {
    const context = await connected();
    const subscribing = context.client.subscribe('room/1', { role: 'guest' });
    const frame = await context.connection.next('sub');
    context.connection.send({ t: 'subbed', id: frame.id, channel: 'room/1', epoch: 'e1', seq: 0 });
    const sub = await subscribing;
    const seen: number[] = [];
    sub.on('chat', (_data, meta) => seen.push(meta.seq));
    for (let index = 1; index <= seq; index += 1) {
      context.connection.send({ t: 'msg', channel: 'room/1', topic: 'chat', seq: index, epoch: 'e1' });
    }
    await vi.waitFor(() => expect(sub.position.seq).toBe(seq));
    return { ...context, sub, seen };
  }

  it('reconnects after the socket is killed and re-subscribes with since, recovering missed messages', async () => {
    const { server, client, connection, sub, seen } = await subscribedAt(3);
    const inFlight = client.ask('pending');
    await connection.next('ask');
    const statuses: SssClientStatus[] = [];
    client.on('status', (status) => statuses.push(status));
    const drop = nextEvent(client, 'drop');
    const reconnect = nextEvent(client, 'reconnect');
    const resubscribed = new Promise((resolve) => sub.onEvent('resubscribed', resolve));

    connection.socket.terminate();
    await expect(inFlight).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(drop).resolves.toMatchObject({ code: 1006 });
    const queued = client.ask('queued');

    const second = await server.connection(1);
    const resub = await second.next('sub');
    expect(resub).toMatchObject({
      t: 'sub',
      channel: 'room/1',
      query: { role: 'guest' },
      since: { epoch: 'e1', seq: 3 },
    });
    second.sendAll([
      { t: 'subbed', id: resub.id, channel: 'room/1', epoch: 'e1', seq: 3, recovered: true },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 4, epoch: 'e1' },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 5, epoch: 'e1' },
    ]);
    await expect(resubscribed).resolves.toEqual({ recovered: true });
    await expect(reconnect).resolves.toEqual({
      recovered: true,
      subscriptions: [{ channel: 'room/1', recovered: true }],
    } satisfies SssReconnectEvent);
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4, 5]));

    const queuedFrame = await second.next('ask');
    expect(queuedFrame.topic).toBe('queued');
    second.send({ t: 'res', id: queuedFrame.id, data: 'ok' });
    await expect(queued).resolves.toBe('ok');
    expect(statuses).toEqual(['reconnecting', 'open']);
    expect(client.socketId).toBe('socket-2');
  });

  it('continues from the new position when recovery fails', async () => {
    const { server, client, connection, sub, seen } = await subscribedAt(2);
    const reconnect = nextEvent(client, 'reconnect');
    const resubscribed = new Promise((resolve) => sub.onEvent('resubscribed', resolve));
    connection.socket.terminate();
    const second = await server.connection(1);
    const resub = await second.next('sub');
    second.sendAll([
      {
        t: 'subbed',
        id: resub.id,
        channel: 'room/1',
        epoch: 'e2',
        seq: 10,
        recovered: false,
        reason: 'epoch_changed',
      },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 11, epoch: 'e2' },
    ]);
    await expect(resubscribed).resolves.toEqual({ recovered: false, reason: 'epoch_changed' });
    await expect(reconnect).resolves.toEqual({
      recovered: false,
      subscriptions: [{ channel: 'room/1', recovered: false, reason: 'epoch_changed' }],
    });
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 11]));
    expect(sub.position).toEqual({ epoch: 'e2', seq: 11 });
  });

  it('closes a subscription whose re-subscription is refused', async () => {
    const { server, client, connection, sub } = await subscribedAt(1);
    const reconnect = nextEvent(client, 'reconnect');
    const closed = new Promise((resolve) => sub.onEvent('closed', resolve));
    connection.socket.terminate();
    const second = await server.connection(1);
    const resub = await second.next('sub');
    second.send({ t: 'err', id: resub.id, code: 'FORBIDDEN', message: 'Not any more' });
    await expect(closed).resolves.toMatchObject({ reason: 'resubscribe_denied', error: { code: 'FORBIDDEN' } });
    await expect(reconnect).resolves.toMatchObject({
      recovered: false,
      subscriptions: [{ channel: 'room/1', recovered: false, error: { code: 'FORBIDDEN' } }],
    });
    expect(sub.closed).toBe(true);
  });

  it('emits boot on close code 4001 and does not reconnect', async () => {
    const { server, client, connection } = await connected();
    const pending = client.ask('x');
    await connection.next('ask');
    const boot = nextEvent(client, 'boot');
    connection.socket.close(4001, 'kicked');
    await expect(boot).resolves.toEqual({ reason: 'kicked' });
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(client.status).toBe('closed');
    await sleep(150);
    expect(server.connections).toHaveLength(1);
  });

  it('emits error UNSUPPORTED_VERSION on close code 4002 and does not reconnect', async () => {
    const { server, client, connection } = await connected();
    const error = nextEvent(client, 'error');
    connection.socket.close(4002, 'version 1 unsupported');
    await expect(error).resolves.toMatchObject({ code: 'UNSUPPORTED_VERSION' });
    expect(client.status).toBe('closed');
    await sleep(150);
    expect(server.connections).toHaveLength(1);
  });

  it('reconnects within reconnect.spreadWindow when the server goes away with 1001', async () => {
    const server = await startServer();
    // The wait is random within the window; pinned to its middle (the client takes Math.random when
    // it is made), it is 100 ms, far from the 5 s of initialDelay.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const client = createClient(server, {
      reconnect: { initialDelay: 5000, maxDelay: 5000, factor: 10, spreadWindow: 200 },
    });
    try {
      await client.connect();
      for (let index = 0; index < 3; index += 1) {
        const connection = await server.connection(index);
        const reconnected = nextEvent(client, 'connect');
        const started = Date.now();
        connection.socket.close(1001, 'shutting down');
        await reconnected;
        expect(Date.now() - started).toBeLessThan(2_000);
      }
    } finally {
      random.mockRestore();
    }
    expect(server.connections).toHaveLength(4);
  });

  it('keeps retrying with backoff while the server is down, then comes back', async () => {
    const server = await startServer();
    const client = createClient(server, { reconnect: { initialDelay: 10, maxDelay: 40, factor: 2 } });
    await client.connect();
    const url = new URL(server.url);
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await vi.waitFor(() => expect(client.status).toBe('reconnecting'));
    await sleep(150);
    const { WebSocketServer } = await import('ws');
    const revived = new WebSocketServer({ port: Number(url.port) });
    revived.on('connection', (socket) =>
      socket.send(JSON.stringify({ t: 'hello', v: 1, socketId: 'revived', heartbeat: 30_000 })),
    );
    try {
      await vi.waitFor(() => expect(client.status).toBe('open'), { timeout: 2000 });
      expect(client.socketId).toBe('revived');
    } finally {
      await client.close();
      for (const socket of revived.clients) socket.terminate();
      await new Promise((resolve) => revived.close(resolve));
    }
  });

  it('with reconnect: false, a drop closes the client', async () => {
    const { server, client, connection } = await connected({}, { reconnect: false });
    const drop = nextEvent(client, 'drop');
    connection.socket.terminate();
    await drop;
    expect(client.status).toBe('closed');
    await sleep(50);
    expect(server.connections).toHaveLength(1);
  });
});

describe('SssClient heartbeat', () => {
  it('pings when it has sent nothing for the heartbeat interval', async () => {
    const { client, connection } = await connected({ heartbeat: 80 });
    await connection.next('ping');
    await connection.next('ping');
    expect(client.status).toBe('open');
  });

  it('takes the interval from options.heartbeatInterval over hello', async () => {
    const { connection } = await connected({ heartbeat: 60_000 }, { heartbeatInterval: 50 });
    const started = Date.now();
    await connection.next('ping');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('drops a silent server and reconnects', async () => {
    const { server, client, connection } = await connected(
      { heartbeat: 60_000, autoPong: false },
      { heartbeatInterval: 50, heartbeatGrace: 50 },
    );
    const drop = nextEvent(client, 'drop');
    const started = Date.now();
    await expect(drop).resolves.toEqual({ code: 1006, reason: 'heartbeat timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(connection.received.some((frame) => frame.t === 'ping')).toBe(true);
    await server.connection(1);
    await vi.waitFor(() => expect(client.status).toBe('open'));
  });

  it('keeps a connection that answers pings', async () => {
    // Dead after 2 × 100 + 300 ms of silence: a pong every ~150 ms keeps it, even on a loaded machine.
    const { server, client, connection } = await connected(
      { heartbeat: 60_000 },
      { heartbeatInterval: 100, heartbeatGrace: 300 },
    );
    const drop = vi.fn();
    client.on('drop', drop);
    await sleep(1_500);
    expect(drop).not.toHaveBeenCalled();
    expect(server.connections).toHaveLength(1);
    // It was kept by its pongs, not by a timer that never ran.
    expect(connection.received.filter((frame) => frame.t === 'ping').length).toBeGreaterThan(5);
  });
});
