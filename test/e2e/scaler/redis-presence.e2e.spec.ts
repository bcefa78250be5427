import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceEvent, ScalerListener } from '../../../lib/index.js';
import { RedisScaler } from '../../../lib/mongo-redis.js';
import { TestRedis } from '../../support/test-services.js';
import { eventually, sleep } from '../support/clients.js';

/** Two instances' worth of Redis presence, each recording the events it hears. */
describe('Redis presence between scalers', () => {
  let redis: TestRedis;
  const opened: RedisScaler[] = [];

  async function instance(): Promise<{ scaler: RedisScaler; events: string[] }> {
    const events: string[] = [];
    const listener: ScalerListener = {
      onMessage: () => undefined,
      onSignal: () => undefined,
      onPresence: (event: PresenceEvent) => events.push(`${event.kind}:${event.userId}`),
    };
    // Long enough that a stalled test process (both scalers are in it) cannot make one sweep the other.
    const scaler = new RedisScaler({ redis: redis.url, presenceTimeout: 3_000 });
    await scaler.connect(listener);
    opened.push(scaler);
    return { scaler, events };
  }

  beforeAll(async () => {
    redis = await TestRedis.start();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((scaler) => scaler.close()));
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('fires exactly one join and one leave for 100 concurrent connections of one user on two instances', async () => {
    const a = await instance();
    const b = await instance();
    await Promise.all([a.scaler.subscribe('race'), b.scaler.subscribe('race')]);
    const ids = Array.from({ length: 100 }, (_, index) => `c${index}`);
    await Promise.all(
      ids.map((id, index) => (index % 2 ? a : b).scaler.presence.join('race', { connectionId: id, userId: 'u' })),
    );
    expect(await a.scaler.presence.members('race')).toEqual([{ userId: 'u', connections: 100 }]);
    await Promise.all(ids.map((id, index) => (index % 2 ? b : a).scaler.presence.leave('race', id)));
    // Leaves of connections the other instance joined are ignored by that instance's leave: only
    // the instance that joined a connection removes it.
    await Promise.all(ids.map((id, index) => (index % 2 ? a : b).scaler.presence.leave('race', id)));
    await eventually(() => expect(b.events).toEqual(['join:u', 'leave:u']));
    expect(a.events).toEqual(['join:u', 'leave:u']);
    expect(await b.scaler.presence.members('race')).toEqual([]);
  });

  it('removes the entries of an instance that closes, with leave events', async () => {
    const a = await instance();
    const b = await instance();
    await b.scaler.subscribe('bye');
    await a.scaler.presence.join('bye', { connectionId: 'x', userId: 'ann', info: { name: 'Ann' } });
    await eventually(() => expect(b.events).toEqual(['join:ann']));
    await a.scaler.close();
    await eventually(() => expect(b.events).toEqual(['join:ann', 'leave:ann']));
    expect(await b.scaler.presence.members('bye')).toEqual([]);
  });

  it('joins its connections again when it was taken for dead (the registry was lost)', async () => {
    const a = await instance();
    const b = await instance();
    await b.scaler.subscribe('back');
    await a.scaler.presence.join('back', { connectionId: 'y', userId: 'bob' });
    const admin = new Redis(redis.url);
    try {
      await admin.del('sss:pr:instances');
    } finally {
      admin.disconnect();
    }
    await eventually(() => expect(b.events).toEqual(['join:bob', 'leave:bob', 'join:bob']), 5_000);
    expect(await b.scaler.presence.members('back')).toEqual([{ userId: 'bob', connections: 1 }]);
    // Still its own: leaving works under the new registration.
    await a.scaler.presence.leave('back', 'y');
    await eventually(() => expect(b.events.at(-1)).toBe('leave:bob'));
    await sleep(100);
    expect(await b.scaler.presence.members('back')).toEqual([]);
  });
});
