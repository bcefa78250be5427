import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SssMessageMeta } from '../../lib/client/index.js';
import { CloseCode, SssPublisher } from '../../lib/index.js';
import { EventLog } from './fixtures/event-log.service.js';
import { ClientPool, eventually, sleep } from './support/clients.js';
import { RawSocket } from './support/raw-socket.js';
import { clusterVariant, memoryVariant, mongoRedisVariant, redisOnlyVariant } from './support/scaler-variants.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

describe.each([memoryVariant, mongoRedisVariant(), redisOnlyVariant(), clusterVariant()])(
  'channels, user and session delivery, boot on the $name',
  (variant) => {
    let started: StartedApp;
    let publisher: SssPublisher;
    const pool = new ClientPool(() => started.url);

    beforeAll(async () => {
      await variant.setup();
      started = await startFixtureApp({ scaler: variant.create() });
      publisher = started.app.get(SssPublisher);
    });

    afterEach(() => pool.closeAll());

    afterAll(async () => {
      await started.app.close();
      await variant.teardown();
    });

    it('delivers every published message in order, once, with gapless seqs', async () => {
      const client = await pool.connect();
      const news = await client.subscribe('news');
      const received: Array<{ data: unknown; meta: SssMessageMeta }> = [];
      news.on('article', (data, meta) => received.push({ data, meta }));
      const start = news.position.seq;
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish('news', 'article', i)));
      expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => start + i + 1));
      await eventually(() => expect(received).toHaveLength(200));
      expect(received.map((r) => r.data)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(received.map((r) => r.meta.seq)).toEqual(results.map((r) => r.seq));
      expect(news.position).toEqual({ epoch: results[0].epoch, seq: start + 200 });
    });

    it('answers a sub that an unsub overtook with CANCELLED, never leaving it unanswered', async () => {
      const raw = await RawSocket.open(`${started.url}?v=1`);
      try {
        raw.send({ t: 'sub', id: 1, channel: 'slow/300' });
        expect(await raw.request({ t: 'unsub', id: 2, channel: 'slow/300' })).toEqual({ t: 'ack', id: 2 });
        expect(await raw.next((frame) => frame.id === 1)).toMatchObject({ t: 'err', id: 1, code: 'CANCELLED' });
        // The channel is free again: a new sub is answered normally.
        expect(await raw.request({ t: 'sub', id: 3, channel: 'slow/1' })).toMatchObject({ t: 'subbed', id: 3 });
      } finally {
        raw.ws.close();
      }
    });

    it('socket.publish reaches every subscriber but its sender', async () => {
      const [alice, bob] = await Promise.all([pool.connect(), pool.connect()]);
      const errors: unknown[] = [];
      alice.on('error', (error) => errors.push(error));
      bob.on('error', (error) => errors.push(error));
      const [aliceRoom, bobRoom] = await Promise.all([alice.subscribe('room/lobby'), bob.subscribe('room/lobby')]);
      const aliceGot: unknown[] = [];
      const bobGot: unknown[] = [];
      aliceRoom.on('said', (data) => aliceGot.push(data));
      bobRoom.on('said', (data) => bobGot.push(data));
      await alice.tell('say', { room: 'lobby', text: 'hi' });
      await bob.tell('say', { room: 'lobby', text: 'hello' });
      await eventually(() => expect(aliceGot).toEqual([{ text: 'hello', from: bob.socketId }]));
      await eventually(() => expect(bobGot).toEqual([{ text: 'hi', from: alice.socketId }]));
      // The sender's position still covers its own message (a `skip` frame), without a gap error.
      await eventually(() => expect(aliceRoom.position.seq).toBe(2));
      expect(bobRoom.position.seq).toBe(2);
      expect(errors).toEqual([]);
    });

    it('unsubscribes, and reports lifecycle hooks for channels and sockets', async () => {
      const log = started.app.get(EventLog);
      const client = await pool.connect();
      const room = await client.subscribe('room/hooks');
      expect(await client.ask('subscriptions', 'room/hooks')).toEqual({ channels: ['room/hooks'], isSubscribed: true });
      const got: unknown[] = [];
      room.on('x', (data) => got.push(data));
      await room.unsubscribe();
      await publisher.publish('room/hooks', 'x', 'after');
      await sleep(50);
      expect(got).toEqual([]);
      expect(await client.ask('subscriptions', 'room/hooks')).toEqual({ channels: [], isSubscribed: false });
      await eventually(() =>
        expect(log.events).toEqual(
          expect.arrayContaining([
            'open:room/hooks',
            'subscribe:room/hooks',
            'unsubscribe:room/hooks',
            'close:room/hooks',
          ]),
        ),
      );
      const index = (event: string) => log.events.indexOf(event);
      expect(index('open:room/hooks')).toBeLessThan(index('subscribe:room/hooks'));
      expect(index('unsubscribe:room/hooks')).toBeLessThan(index('close:room/hooks'));
    });

    it('reaches every socket of a user, and only the socket of a session', async () => {
      const annTab1 = await pool.connect({ headers: { cookie: 'token=token-ann-1' } });
      const annTab2 = await pool.connect({ headers: { cookie: 'token=token-ann-2' } });
      const bob = await pool.connect({ headers: { cookie: 'token=token-bob' } });
      expect([annTab1.userId, annTab2.userId, bob.userId]).toEqual(['ann', 'ann', 'bob']);
      const got = { tab1: [] as unknown[], tab2: [] as unknown[], bob: [] as unknown[] };
      annTab1.onTell('dm', (data) => got.tab1.push(data));
      annTab2.onTell('dm', (data) => got.tab2.push(data));
      bob.onTell('dm', (data) => got.bob.push(data));
      await publisher.toUser('ann', 'dm', 'to ann');
      await publisher.toSession('token-ann-2', 'dm', 'to tab 2');
      await publisher.toSocket(bob.socketId!, 'dm', 'to bob');
      await eventually(() => expect(got).toEqual({ tab1: ['to ann'], tab2: ['to ann', 'to tab 2'], bob: ['to bob'] }));
    });

    it('broadcasts to every socket, and lets a socket tell itself', async () => {
      const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
      const got = clients.map(() => [] as unknown[]);
      clients.forEach((client, i) => client.onTell('announcement', (data) => got[i].push(data)));
      await publisher.broadcast('announcement', { text: 'hello all' });
      await eventually(() => expect(got).toEqual(clients.map(() => [{ text: 'hello all' }])));
      const own: unknown[] = [];
      clients[0].onTell('self', (data) => own.push(data));
      await clients[0].tell('tellMe', 'self');
      await eventually(() => expect(own).toEqual([{ to: clients[0].socketId }]));
    });

    it('boots a channel: subscribers get closed with the reason', async () => {
      const [first, second] = await Promise.all([pool.connect(), pool.connect()]);
      const subs = await Promise.all([first.subscribe('room/doomed'), second.subscribe('room/doomed')]);
      const reasons: string[] = [];
      subs.forEach((sub) => sub.onEvent('closed', ({ reason }) => reasons.push(reason)));
      await publisher.bootChannel('room/doomed', 'Room deleted');
      await eventually(() => expect(reasons).toEqual(['Room deleted', 'Room deleted']));
      expect(await first.ask('subscriptions', 'room/doomed')).toMatchObject({ isSubscribed: false });
    });

    it('boots a socket (4001, no reconnection) and a whole user', async () => {
      const client = await pool.connect();
      const boots: string[] = [];
      client.on('boot', ({ reason }) => boots.push(reason));
      await client.tell('bootMe').catch(() => undefined);
      await eventually(() => expect(boots).toEqual(['You asked for it']));
      expect(client.status).toBe('closed');
      await sleep(150);
      expect(client.status).toBe('closed');
      await eventually(() =>
        expect(started.app.get(EventLog).events).toContain(`disconnect:anonymous:${CloseCode.Booted}`),
      );

      const tabs = await Promise.all([
        pool.connect({ headers: { cookie: 'token=token-ann-1' } }),
        pool.connect({ headers: { cookie: 'token=token-ann-2' } }),
      ]);
      const bob = await pool.connect({ headers: { cookie: 'token=token-bob' } });
      await publisher.bootUser('ann', 'Account closed');
      await eventually(() => expect(tabs.map((tab) => tab.status)).toEqual(['closed', 'closed']));
      expect(bob.status).toBe('open');
    });
  },
);
