import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SssClient,
  type Listener,
  type SssClientEvents,
  type SssClientOptions,
  type SssResubscribedEvent,
} from '../../../lib/client/index.js';
import { ScriptedServer, type ScriptedConnection } from './scripted-ws-server.helper.js';

const servers: ScriptedServer[] = [];
const clients: SssClient[] = [];

function nextEvent<E extends keyof SssClientEvents>(client: SssClient, event: E): Promise<SssClientEvents[E][0]> {
  return new Promise((resolve) => {
    const remove = client.on(event, ((...args: SssClientEvents[E]) => {
      remove();
      resolve(args[0]);
    }) as Listener<SssClientEvents[E]>);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const realSetTimeout = globalThis.setTimeout;
/** Waits in real time, also while the timers are faked: lets sockets do their I/O. */
const realSleep = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));

/** Resolves with `promise`, or with `'still waiting'` when it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  return Promise.race([promise, sleep(ms).then(() => 'still waiting' as const)]);
}

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: SssClientOptions = {}) {
  const server = await ScriptedServer.start();
  servers.push(server);
  const client = new SssClient(server.url, {
    reconnect: { initialDelay: 20, maxDelay: 100, factor: 2, spreadWindow: 20 },
    ...options,
  });
  clients.push(client);
  await client.connect();
  const connection = await server.connection(0);
  return { server, client, connection };
}

/** A client subscribed to `room/1` in epoch `e1` that has received seqs 1..seq. */
async function subscribedAt(seq: number, options: SssClientOptions = {}) {
  const context = await start(options);
  const subscribing = context.client.subscribe('room/1', { role: 'guest' });
  const frame = await context.connection.next('sub');
  context.connection.send({ t: 'subbed', id: frame.id, channel: 'room/1', epoch: 'e1', seq: 0 });
  const sub = await subscribing;
  const seen: number[] = [];
  sub.on('chat', (_data, meta) => seen.push(meta.seq));
  const resubscribed: SssResubscribedEvent[] = [];
  sub.onEvent('resubscribed', (event) => resubscribed.push(event));
  for (let index = 1; index <= seq; index += 1) message(context.connection, index);
  await vi.waitFor(() => expect(sub.position.seq).toBe(seq));
  return { ...context, sub, seen, resubscribed };
}

function message(connection: ScriptedConnection, seq: number, epoch = 'e1'): void {
  connection.send({ t: 'msg', channel: 'room/1', topic: 'chat', seq, epoch });
}

/** Drops the first connection and returns the second with the re-subscription it received. */
async function reconnected(server: ScriptedServer, connection: ScriptedConnection) {
  connection.socket.terminate();
  const second = await server.connection(1);
  const resub = await second.next('sub');
  return { second, resub };
}

describe('SssClient re-subscription after a reconnect', () => {
  it('fires reconnect without waiting for a re-subscription that was unsubscribed, and ignores its CANCELLED', async () => {
    const { server, client, connection, sub } = await subscribedAt(1);
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    const reconnect = nextEvent(client, 'reconnect');
    const { second, resub } = await reconnected(server, connection);

    const unsubscribing = sub.unsubscribe();
    const unsub = await second.next('unsub');
    second.send({ t: 'ack', id: unsub.id });
    await unsubscribing;
    // The subscription ended before its first result: it is left out.
    await expect(within(reconnect, 500)).resolves.toEqual({ recovered: true, subscriptions: [] });

    second.send({ t: 'err', id: resub.id, code: 'CANCELLED', message: 'Unsubscribed before the answer' });
    await sleep(30);
    expect(errors).toEqual([]);
    expect(sub.closed).toBe(true);
  });

  it('reports the other channels when one is unsubscribed during the re-subscription', async () => {
    const { server, client, connection, sub } = await subscribedAt(1);
    const subscribing = client.subscribe('room/2');
    const frame = await connection.next('sub');
    connection.send({ t: 'subbed', id: frame.id, channel: 'room/2', epoch: 'e1', seq: 4 });
    await subscribing;
    const reconnect = nextEvent(client, 'reconnect');
    const { second, resub } = await reconnected(server, connection);
    const resub2 = await second.next('sub');
    expect([resub.channel, resub2.channel]).toEqual(['room/1', 'room/2']);
    void sub.unsubscribe();
    second.send({ t: 'subbed', id: resub2.id, channel: 'room/2', epoch: 'e1', seq: 4, recovered: true });
    await expect(within(reconnect, 500)).resolves.toEqual({
      recovered: true,
      subscriptions: [{ channel: 'room/2', recovered: true }],
    });
  });

  it.each(['UNAVAILABLE', 'TIMEOUT', 'RATE_LIMITED', 'INTERNAL_ERROR'])(
    'retries after a temporary %s, reports retrying in reconnect, then resubscribes',
    async (code) => {
      const { server, client, connection, sub, seen, resubscribed } = await subscribedAt(2, {
        resubscribe: { initialDelay: 20, maxDelay: 40 },
      });
      const reconnect = nextEvent(client, 'reconnect');
      const { second, resub } = await reconnected(server, connection);
      second.send({ t: 'err', id: resub.id, code, message: 'try later' });
      await expect(within(reconnect, 500)).resolves.toMatchObject({
        recovered: false,
        subscriptions: [{ channel: 'room/1', recovered: false, retrying: true, error: { code } }],
      });
      expect(sub.closed).toBe(false);

      const retry = await second.next('sub');
      expect(retry).toMatchObject({ channel: 'room/1', query: { role: 'guest' }, since: { epoch: 'e1', seq: 2 } });
      second.sendAll([
        { t: 'subbed', id: retry.id, channel: 'room/1', epoch: 'e1', seq: 2, recovered: true },
        { t: 'msg', channel: 'room/1', topic: 'chat', seq: 3, epoch: 'e1' },
      ]);
      await vi.waitFor(() => expect(resubscribed).toEqual([{ recovered: true }]));
      await vi.waitFor(() => expect(seen).toEqual([1, 2, 3]));
    },
  );

  it('retries a re-subscription that gets no answer within resubscribe.timeout', async () => {
    const { server, connection, sub, resubscribed } = await subscribedAt(1, {
      resubscribe: { timeout: 300, initialDelay: 10, maxDelay: 10 },
    });
    const { second } = await reconnected(server, connection);
    const retry = await within(second.next('sub'), 3_000);
    expect(retry).toMatchObject({ channel: 'room/1', since: { epoch: 'e1', seq: 1 } });
    if (retry === 'still waiting') return;
    // The server may still accept the first attempt, so the retry ends it first.
    expect(second.received.filter((frame) => frame.t !== 'ping').map((frame) => frame.t)).toEqual([
      'sub',
      'unsub',
      'sub',
    ]);
    second.send({ t: 'subbed', id: retry.id, channel: 'room/1', epoch: 'e1', seq: 1, recovered: true });
    await vi.waitFor(() => expect(resubscribed).toEqual([{ recovered: true }]));
    expect(sub.closed).toBe(false);
  });

  it('delivers exactly once when a timed-out re-subscription is answered late', async () => {
    const { server, connection, sub, seen } = await subscribedAt(1, {
      resubscribe: { timeout: 300, initialDelay: 10, maxDelay: 10 },
    });
    const { second, resub } = await reconnected(server, connection);
    const unsub = await second.next('unsub');
    const retry = await second.next('sub');
    // What the server sends in order: the late answer to the first attempt and what followed it, the
    // ack of the unsub, then the answer to the retry with the missed messages.
    second.sendAll([
      { t: 'subbed', id: resub.id, channel: 'room/1', epoch: 'e1', seq: 1, recovered: true },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 2, epoch: 'e1' },
      { t: 'ack', id: unsub.id },
      { t: 'subbed', id: retry.id, channel: 'room/1', epoch: 'e1', seq: 1, recovered: true },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 2, epoch: 'e1' },
      { t: 'msg', channel: 'room/1', topic: 'chat', seq: 3, epoch: 'e1' },
    ]);
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3]));
    await sleep(30);
    expect(seen).toEqual([1, 2, 3]);
    expect(sub.closed).toBe(false);
  });

  it('keeps retrying through temporary errors until a permanent refusal ends it', async () => {
    const { server, client, connection, sub } = await subscribedAt(1, {
      resubscribe: { initialDelay: 10, maxDelay: 20 },
    });
    const closed = new Promise((resolve) => sub.onEvent('closed', resolve));
    const { second, resub } = await reconnected(server, connection);
    const reconnect = nextEvent(client, 'reconnect');
    second.send({ t: 'err', id: resub.id, code: 'UNAVAILABLE', message: 'store down' });
    await reconnect;
    const retry = await second.next('sub');
    second.send({ t: 'err', id: retry.id, code: 'TIMEOUT', message: 'slow' });
    const last = await second.next('sub');
    second.send({ t: 'err', id: last.id, code: 'FORBIDDEN', message: 'Not any more' });
    await expect(closed).resolves.toMatchObject({ reason: 'resubscribe_denied', error: { code: 'FORBIDDEN' } });
  });
});

describe('SssClient sequence gaps', () => {
  it('re-subscribes from the last good position on a gap and delivers the missed messages exactly once', async () => {
    const { client, connection, seen, resubscribed } = await subscribedAt(2);
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    message(connection, 5);
    message(connection, 6);
    const unsub = await within(connection.next('unsub'), 500);
    expect(unsub).toMatchObject({ t: 'unsub', channel: 'room/1' });
    const sub = await connection.next('sub');
    expect(sub).toMatchObject({
      t: 'sub',
      channel: 'room/1',
      query: { role: 'guest' },
      since: { epoch: 'e1', seq: 2 },
    });
    // The server answers in order: the unsub, then the new sub with the missed messages.
    if (unsub !== 'still waiting') connection.send({ t: 'ack', id: unsub.id });
    connection.send({ t: 'subbed', id: sub.id, channel: 'room/1', epoch: 'e1', seq: 2, recovered: true });
    for (const seq of [3, 4, 5, 6, 7]) message(connection, seq);
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]));
    expect(resubscribed).toEqual([{ recovered: true }]);
    expect(errors).toMatchObject([{ code: 'SEQUENCE_GAP' }]);
  });

  it('reports recovered: false when the server cannot fill the gap, and continues from its position', async () => {
    const { connection, seen, resubscribed, sub } = await subscribedAt(2);
    message(connection, 4);
    await within(connection.next('unsub'), 500);
    const resub = await connection.next('sub');
    connection.send({
      t: 'subbed',
      id: resub.id,
      channel: 'room/1',
      epoch: 'e1',
      seq: 4,
      recovered: false,
      reason: 'out_of_retention',
    });
    message(connection, 5);
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 5]));
    expect(resubscribed).toEqual([{ recovered: false, reason: 'out_of_retention' }]);
    expect(sub.position).toEqual({ epoch: 'e1', seq: 5 });
  });

  it('treats an epoch change without a re-subscription as a gap', async () => {
    const { connection, seen } = await subscribedAt(1);
    message(connection, 1, 'e2');
    await within(connection.next('unsub'), 500);
    const resub = await connection.next('sub');
    expect(resub.since).toEqual({ epoch: 'e1', seq: 1 });
    connection.send({
      t: 'subbed',
      id: resub.id,
      channel: 'room/1',
      epoch: 'e2',
      seq: 1,
      recovered: false,
      reason: 'epoch_changed',
    });
    message(connection, 2, 'e2');
    await vi.waitFor(() => expect(seen).toEqual([1, 2]));
  });

  it('retries a gap re-subscription that failed temporarily', async () => {
    const { connection, seen } = await subscribedAt(1, { resubscribe: { initialDelay: 10, maxDelay: 10 } });
    message(connection, 3);
    const first = await within(connection.next('sub'), 500);
    if (first === 'still waiting') throw new Error('no re-subscription after the gap');
    connection.send({ t: 'err', id: first.id, code: 'UNAVAILABLE', message: 'store down' });
    const retry = await connection.next('sub');
    expect(retry.since).toEqual({ epoch: 'e1', seq: 1 });
    connection.send({ t: 'subbed', id: retry.id, channel: 'room/1', epoch: 'e1', seq: 1, recovered: true });
    for (const seq of [2, 3]) message(connection, seq);
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3]));
  });
});

describe('SssClient reconnect delay', () => {
  async function reconnectDelayAfter(close: (connection: ScriptedConnection) => void, options: SssClientOptions) {
    vi.spyOn(Math, 'random').mockReturnValue(0.9);
    const { server, client, connection } = await start(options);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const drop = nextEvent(client, 'drop');
    close(connection);
    await drop;
    return server;
  }

  it.each([
    ['a 1001', (connection: ScriptedConnection) => connection.socket.close(1001, 'shutting down')],
    ['a dropped socket', (connection: ScriptedConnection) => connection.socket.terminate()],
  ])('spreads the first reconnect after %s over reconnect.spreadWindow', async (_what, close) => {
    const server = await reconnectDelayAfter(close, {
      reconnect: { initialDelay: 100, maxDelay: 5000, factor: 2, spreadWindow: 2000 },
    });
    // Math.random() = 0.9: 1800 ms into the 2000 ms window.
    await vi.advanceTimersByTimeAsync(1700);
    await realSleep(100);
    expect(server.connections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(150);
    await server.connection(1);
  });

  it('defaults the window to 1000 ms', async () => {
    const server = await reconnectDelayAfter((connection) => connection.socket.close(1001, 'bye'), {
      reconnect: { initialDelay: 100 },
    });
    await vi.advanceTimersByTimeAsync(850);
    await realSleep(100);
    expect(server.connections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    await server.connection(1);
  });
});
