import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SssClient,
  type SssClientError,
  type SssClientOptions,
  type SssSubscriptionClosedEvent,
} from '../../../lib/client/index.js';
import { ScriptedServer } from './scripted-ws-server.helper.js';

const servers: ScriptedServer[] = [];
const clients: SssClient[] = [];

async function connected(options: SssClientOptions = {}) {
  const server = await ScriptedServer.start();
  servers.push(server);
  const client = new SssClient(server.url, { reconnect: { initialDelay: 20, maxDelay: 100, factor: 2 }, ...options });
  clients.push(client);
  await client.connect();
  const connection = await server.connection(0);
  return { server, client, connection };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('SssClient and expiring credentials', () => {
  for (const [code, errorCode] of [
    [4003, 'CREDENTIALS_EXPIRED'],
    [4004, 'CREDENTIALS_REFUSED'],
  ] as const) {
    it(`treats close code ${code} as permanent: credentialsExpired, ${errorCode}, no reconnect`, async () => {
      const { server, client, connection } = await connected();
      const subscribing = client.subscribe('news');
      const sub = await connection.next('sub');
      connection.send({ t: 'subbed', id: sub.id, channel: 'news', epoch: 'e', seq: 0 });
      const subscription = await subscribing;
      const closed: SssSubscriptionClosedEvent[] = [];
      subscription.onEvent('closed', (event) => closed.push(event));
      const expired: Array<{ code: number; reason: string }> = [];
      client.on('credentialsExpired', (event) => expired.push(event));
      connection.socket.close(code, 'credential gone');
      await new Promise<void>((resolve) => client.on('status', (status) => status === 'closed' && resolve()));
      expect(expired).toEqual([{ code, reason: 'credential gone' }]);
      expect(closed).toHaveLength(1);
      expect(closed[0].reason).toBe('credentials_expired');
      expect((closed[0].error as SssClientError).code).toBe(errorCode);
      await expect(client.ask('x')).rejects.toMatchObject({ code: 'CLOSED' });
      await sleep(150);
      expect(server.connections).toHaveLength(1);
    });
  }

  it('without getToken, reports a refresh request and sends nothing', async () => {
    const { client, connection } = await connected();
    const expiring: number[] = [];
    client.on('credentialsExpiring', ({ expiresIn }) => expiring.push(expiresIn));
    connection.send({ t: 'refresh', expiresIn: 1234 });
    await vi.waitFor(() => expect(expiring).toEqual([1234]));
    // Had it answered, the answer would have left in the same turn: a little later, still nothing.
    await sleep(50);
    expect(connection.received.filter((frame) => frame.t !== 'ping')).toEqual([]);
  });

  it('with getToken, answers each refresh request with auth carrying the token', async () => {
    let calls = 0;
    const { client, connection } = await connected({ getToken: async () => `token-${++calls}` });
    const errors: SssClientError[] = [];
    client.on('error', (error) => errors.push(error));
    connection.send({ t: 'refresh', expiresIn: 1000 });
    const first = await connection.next('auth');
    expect(first.credential).toBe('token-1');
    connection.send({ t: 'ack', id: first.id });
    connection.send({ t: 'refresh', expiresIn: 1000 });
    const second = await connection.next('auth');
    expect(second.credential).toBe('token-2');
    // A temporary server error is retried with a new token.
    connection.send({ t: 'err', id: second.id, code: 'UNAVAILABLE', message: 'busy' });
    const third = await connection.next('auth');
    expect(third.credential).toBe('token-3');
    connection.send({ t: 'ack', id: third.id });
    await sleep(20);
    expect(errors.map((error) => error.code)).toEqual(['UNAVAILABLE']);
  });

  it('ends a subscription that unsubbed carries a code for, with that code as its error', async () => {
    const { client, connection } = await connected();
    const subscribing = client.subscribe('room/b');
    const sub = await connection.next('sub');
    connection.send({ t: 'subbed', id: sub.id, channel: 'room/b', epoch: 'e', seq: 0 });
    const subscription = await subscribing;
    const closed = new Promise<SssSubscriptionClosedEvent>((resolve) => subscription.onEvent('closed', resolve));
    connection.send({ t: 'unsubbed', channel: 'room/b', reason: 'Not a member', code: 'FORBIDDEN' });
    const event = await closed;
    expect(event.reason).toBe('Not a member');
    expect(event.error).toMatchObject({ code: 'FORBIDDEN', message: 'Not a member' });
    expect(client.status).toBe('open');
  });
});
