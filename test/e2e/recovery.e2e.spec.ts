import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SssReconnectEvent, SssSubscription } from '../../lib/client/index.js';
import { SssPublisher } from '../../lib/index.js';
import { RoomPasswordGuard } from './fixtures/fixture.enhancers.js';
import { SessionStore } from './fixtures/session.guard.js';
import { ClientPool, eventually, sleep } from './support/clients.js';
import { dropConnection } from './support/drop.js';
import {
  clusterVariant,
  memoryVariant,
  mongoRedisClusterVariant,
  mongoRedisVariant,
  redisClusterOnlyVariant,
  redisOnlyVariant,
} from './support/scaler-variants.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

function record(subscription: SssSubscription, topic: string): number[] {
  const seqs: number[] = [];
  subscription.on(topic, (_data, meta) => seqs.push(meta.seq));
  return seqs;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each([memoryVariant, mongoRedisVariant(), mongoRedisClusterVariant(), clusterVariant()])(
  'recovery after a reconnect on the $name',
  (variant) => {
    let started: StartedApp;
    let publisher: SssPublisher;
    const pool = new ClientPool(() => started.url);

    beforeAll(async () => {
      await variant.setup();
      const retention = { maxMessages: 200 };
      const scaler = variant.create(retention);
      // The module-level retention is the embedded scaler's; another scaler takes its own.
      started = await startFixtureApp(scaler ? { scaler } : { retention });
      publisher = started.app.get(SssPublisher);
    });

    afterEach(() => pool.closeAll());

    afterAll(async () => {
      await started.app.close();
      await variant.teardown();
    });

    it('delivers every missed message in order, exactly once, before newer live ones', async () => {
      const client = await pool.connect({ reconnect: { initialDelay: 300, maxDelay: 300 } });
      const news = await client.subscribe('room/recover');
      const seqs = record(news, 'tick');
      const reconnects: SssReconnectEvent[] = [];
      client.on('reconnect', (event) => reconnects.push(event));
      for (let i = 0; i < 10; i++) await publisher.publish('room/recover', 'tick', i);
      await eventually(() => expect(seqs).toHaveLength(10));

      dropConnection(started.app, client.socketId);
      // Published while the client is away (it waits 300 ms before reconnecting)...
      for (let i = 10; i < 40; i++) await publisher.publish('room/recover', 'tick', i);
      // ...and while it comes back: some of these race the re-subscription.
      let live = 40;
      const racing: Array<Promise<unknown>> = [];
      const timer = setInterval(() => racing.push(publisher.publish('room/recover', 'tick', live++)), 5);
      await eventually(() => expect(reconnects).toHaveLength(1));
      await sleep(100);
      clearInterval(timer);
      // The last of these may still be on their way to the store (a loaded machine, a batch that
      // waits minInsertInterval): what counts is that each acknowledged one arrives, once, in order.
      await Promise.all(racing);
      expect(reconnects[0]).toEqual({ recovered: true, subscriptions: [{ channel: 'room/recover', recovered: true }] });
      await eventually(() => expect(seqs).toEqual(range(1, live)));
      await sleep(50);
      expect(seqs, 'nothing arrives twice after the last one').toEqual(range(1, live));
    });

    it('says recovered: false with out_of_retention when too much was missed', async () => {
      // The first attempt after a drop waits a random time within the spread window. Back within a
      // few ms, the client would rightly recover what was published so far (which made this test
      // flaky): its backoff, made while Math.random is pinned, waits the end of the window (about
      // 5 s), long after the 250 publishes below are stored, even on a loaded machine.
      const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
      try {
        const client = await pool.connect({ reconnect: { initialDelay: 5_000, maxDelay: 5_000, spreadWindow: 5_000 } });
        const room = await client.subscribe('room/far-behind');
        const seqs = record(room, 'tick');
        const resubscribed: unknown[] = [];
        room.onEvent('resubscribed', (event) => resubscribed.push(event));
        await publisher.publish('room/far-behind', 'tick', 0);
        await eventually(() => expect(seqs).toEqual([1]));
        dropConnection(started.app, client.socketId);
        await Promise.all(Array.from({ length: 250 }, (_, i) => publisher.publish('room/far-behind', 'tick', i)));
        expect(resubscribed, 'the client came back before the 250 publishes were stored').toEqual([]);
        await eventually(
          () => expect(resubscribed).toEqual([{ recovered: false, reason: 'out_of_retention' }]),
          10_000,
        );
        await publisher.publish('room/far-behind', 'tick', 'next');
        await eventually(() => expect(seqs).toEqual([1, 252]));
        expect(room.position.seq).toBe(252);
      } finally {
        random.mockRestore();
      }
    });

    it('re-runs the subscription guard on re-subscription: a revoked one is refused', async () => {
      const guard = started.app.get(RoomPasswordGuard);
      const passwords = (guard as unknown as { passwords: Map<string, string> }).passwords;
      passwords.set('vip', 'first');
      const client = await pool.connect({ reconnect: { initialDelay: 100, maxDelay: 100 } });
      const vip = await client.subscribe('room/vip', { password: 'first' });
      const closed: Array<{ reason: string; code?: string }> = [];
      vip.onEvent('closed', ({ reason, error }) => closed.push({ reason, code: error?.code }));
      const reconnects: SssReconnectEvent[] = [];
      client.on('reconnect', (event) => reconnects.push(event));
      passwords.set('vip', 'changed');
      dropConnection(started.app, client.socketId);
      await eventually(() => expect(reconnects).toHaveLength(1));
      expect(reconnects[0].recovered).toBe(false);
      expect(reconnects[0].subscriptions[0]).toMatchObject({ channel: 'room/vip', recovered: false });
      expect(closed).toEqual([{ reason: expect.any(String), code: 'FORBIDDEN' }]);
      expect(await client.ask('subscriptions', 'room/vip')).toMatchObject({ isSubscribed: false });
    });

    it('re-runs the session guard at every upgrade: a revoked session cannot come back', async () => {
      const store = started.app.get(SessionStore);
      const sessions = (store as unknown as { sessions: Map<string, unknown> }).sessions;
      sessions.set('token-temp', { userId: 'temp', name: 'Temp' });
      const client = await pool.connect({
        headers: { cookie: 'token=token-temp' },
        reconnect: { initialDelay: 50, maxDelay: 50 },
      });
      const errors: string[] = [];
      client.on('error', (error) => errors.push(error.code));
      sessions.delete('token-temp');
      dropConnection(started.app, client.socketId);
      await eventually(() => expect(errors).toContain('HANDSHAKE_REJECTED'));
      expect(client.status).toBe('reconnecting');
    });
  },
);

describe('a restarted in-memory scaler', () => {
  it('reports epoch_changed instead of a wrong history', async () => {
    const first = await startFixtureApp();
    const pool = new ClientPool(() => first.url);
    try {
      const client = await pool.connect({ reconnect: { initialDelay: 100, maxDelay: 100 } });
      const room = await client.subscribe('room/epoch');
      await first.app.get(SssPublisher).publish('room/epoch', 'tick', 1);
      await eventually(() => expect(room.position.seq).toBe(1));
      const oldEpoch = room.position.epoch;
      const resubscribed: unknown[] = [];
      room.onEvent('resubscribed', (event) => resubscribed.push(event));
      await first.app.close();
      const second = await startFixtureApp({ port: first.port });
      try {
        await eventually(() => expect(resubscribed).toEqual([{ recovered: false, reason: 'epoch_changed' }]), 5_000);
        expect(room.position.epoch).not.toBe(oldEpoch);
        expect(room.position.seq).toBe(0);
      } finally {
        await pool.closeAll();
        await second.app.close();
      }
    } finally {
      await pool.closeAll();
    }
  });
});

describe.each([redisOnlyVariant(), redisClusterOnlyVariant()])('the $name', (variant) => {
  let started: StartedApp;
  const pool = new ClientPool(() => started.url);

  beforeAll(async () => {
    await variant.setup();
    started = await startFixtureApp({ scaler: variant.create() });
  });

  afterEach(() => pool.closeAll());

  afterAll(async () => {
    await started.app.close();
    await variant.teardown();
  });

  it('recovers a client that missed nothing, and says out_of_retention to one that missed something', async () => {
    const publisher = started.app.get(SssPublisher);
    const client = await pool.connect({ reconnect: { initialDelay: 300, maxDelay: 300 } });
    const room = await client.subscribe('room/no-history');
    const resubscribed: unknown[] = [];
    room.onEvent('resubscribed', (event) => resubscribed.push(event));
    await publisher.publish('room/no-history', 'tick', 1);
    await eventually(() => expect(room.position.seq).toBe(1));

    dropConnection(started.app, client.socketId);
    await eventually(() => expect(resubscribed).toEqual([{ recovered: true }]));

    dropConnection(started.app, client.socketId);
    await publisher.publish('room/no-history', 'tick', 2);
    await eventually(() =>
      expect(resubscribed).toEqual([{ recovered: true }, { recovered: false, reason: 'out_of_retention' }]),
    );
    expect(room.position.seq).toBe(2);
  });
});
