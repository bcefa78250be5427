import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { SssPresenceChange, SssSubscription } from '../../lib/client/index.js';
import { MAX_SESSION_KEYS, SssPublisher, type PresenceMember, type Scaler } from '../../lib/index.js';
import { ClusterScaler } from '../../lib/cluster.js';
import { MongoRedisScaler, RedisScaler } from '../../lib/mongo-redis.js';
import { TestRedisCluster } from '../support/test-redis-cluster.js';
import { ClusterBroker } from '../../lib/scaler/cluster/cluster.broker.js';
import { TestRedis } from '../support/test-services.js';
import { ClientPool, eventually, sleep } from './support/clients.js';
import { RawSocket } from './support/raw-socket.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';
import { upgradeStatus } from './support/upgrade-status.js';

/** A scaler setup: how many app instances share it, and a scaler for each. */
interface PresenceVariant {
  name: string;
  instances: number;
  setup(): Promise<void>;
  create(): Scaler | undefined;
  teardown(): Promise<void>;
  /** The Redis the instances share, if any. */
  redisUrl?(): string;
}

function redisBacked(name: string, build: (redisUrl: string) => Scaler): PresenceVariant {
  let redis: TestRedis | undefined;
  return {
    name,
    instances: 2,
    setup: async () => {
      redis = await TestRedis.start();
    },
    create: () => build(redis!.url),
    teardown: async () => {
      await redis?.stop();
    },
    redisUrl: () => redis!.url,
  };
}

const database = `sss_presence_${randomUUID().slice(0, 8)}`;
const variants: PresenceVariant[] = [
  {
    name: 'embedded memory scaler (one process)',
    instances: 1,
    setup: async () => undefined,
    create: () => undefined,
    teardown: async () => undefined,
  },
  redisBacked('Redis-only scaler, two instances', (redis) => new RedisScaler({ redis, presenceTimeout: 1_500 })),
  clusterPresenceVariant(),
  redisBacked(
    'Mongo + Redis scaler, two instances',
    (redis) => new MongoRedisScaler({ redis, mongo: `${inject('mongoBaseUrl')}/${database}`, presenceTimeout: 1_500 }),
  ),
  redisClusterBacked(),
];

/** Presence scripts publish their events with SPUBLISH on a cluster, where the fan-out listens. */
function redisClusterBacked(): PresenceVariant {
  let cluster: TestRedisCluster | undefined;
  return {
    name: 'Redis-only scaler on a 3-master Redis Cluster, two instances',
    instances: 2,
    setup: async () => {
      cluster = await TestRedisCluster.start();
    },
    create: () => new RedisScaler({ redisCluster: { nodes: cluster!.nodeList }, presenceTimeout: 1_500 }),
    teardown: async () => {
      await cluster?.stop();
    },
  };
}

/** Two app instances on the cluster scaler, their broker (the primary's part) in this process. */
function clusterPresenceVariant(): PresenceVariant {
  let broker: ClusterBroker | undefined;
  return {
    name: 'cluster scaler, two workers (in-process broker)',
    instances: 2,
    setup: async () => {
      broker = new ClusterBroker({ maxMessages: 1_000, maxAgeMs: 86_400_000 });
      await broker.start();
    },
    create: () => new ClusterScaler({ link: broker!.loopback() }),
    teardown: async () => {
      await broker?.close();
    },
  };
}

const byUser = (members: PresenceMember[]) => [...members].sort((a, b) => a.userId.localeCompare(b.userId));
const cookie = (token: string) => ({ headers: { cookie: `token=${token}` } });

describe.each(variants)('presence and session data on the $name', (variant) => {
  const apps: StartedApp[] = [];
  const pool = new ClientPool(() => apps[0].url);
  /** The URL of instance `index` (the same one when there is only one). */
  const url = (index: number) => apps[index % apps.length].url;

  function recordPresence(subscription: SssSubscription): string[] {
    const events: string[] = [];
    subscription.onEvent('join', (member) => events.push(`join:${member.userId}`));
    subscription.onEvent('leave', (member) => events.push(`leave:${member.userId}`));
    return events;
  }

  beforeAll(async () => {
    await variant.setup();
    for (let index = 0; index < variant.instances; index++)
      apps.push(await startFixtureApp({ scaler: variant.create() }));
  });

  afterEach(() => pool.closeAll());

  afterAll(async () => {
    for (const started of apps.splice(0)) await started.app.close();
    await variant.teardown();
  });

  it('counts a user once across sockets and instances, with its connections; anonymous sockets are not members', async () => {
    const annOne = await pool.connect(cookie('token-ann-1'), url(0));
    const annTwo = await pool.connect(cookie('token-ann-2'), url(1));
    const bob = await pool.connect(cookie('token-bob'), url(1));
    const anonymous = await pool.connect({}, url(0));
    for (const client of [annOne, annTwo, bob, anonymous]) await client.subscribe('lobby/count');
    const expected = [
      { userId: 'ann', connections: 2, info: { name: 'Ann' } },
      { userId: 'bob', connections: 1, info: { name: 'Bob' } },
    ];
    const anonymousOnly = await anonymous.subscribe('lobby/count-2');
    const subscription = await pool.connect({}, url(1)).then((client) => client.subscribe('lobby/count'));
    expect(byUser(await subscription.presence())).toEqual(expected);
    expect(byUser(await apps[0].app.get(SssPublisher).presence('lobby/count'))).toEqual(expected);
    // A channel nobody with a user id joined has no members.
    expect(await anonymousOnly.presence()).toEqual([]);
    await annOne.close();
    await eventually(async () =>
      expect(byUser(await subscription.presence())).toEqual([
        { userId: 'ann', connections: 1, info: { name: 'Ann' } },
        expected[1],
      ]),
    );
  });

  it("sends join on a user's first connection and leave on its last, to subscribers on every instance", async () => {
    const watcherHere = await (await pool.connect(cookie('token-bob'), url(0))).subscribe('lobby/events');
    const watcherThere = await (await pool.connect({}, url(1))).subscribe('lobby/events');
    const here = recordPresence(watcherHere);
    const there = recordPresence(watcherThere);
    const details: SssPresenceChange[] = [];
    watcherThere.onEvent('join', (member) => details.push(member));

    const annOne = await pool.connect(cookie('token-ann-1'), url(0));
    const first = await annOne.subscribe('lobby/events');
    await eventually(() => expect(there).toEqual(['join:ann']));
    expect(details).toEqual([{ userId: 'ann', info: { name: 'Ann' } }]);
    const annTwo = await pool.connect(cookie('token-ann-2'), url(1));
    await annTwo.subscribe('lobby/events');
    await first.unsubscribe();
    // The second socket and the first one's departure change no user's presence: no event.
    await sleep(300);
    expect(there).toEqual(['join:ann']);
    await annTwo.close();
    await eventually(() => expect(there).toEqual(['join:ann', 'leave:ann']));
    await eventually(() => expect(here).toEqual(['join:ann', 'leave:ann']));
    expect(byUser(await watcherThere.presence())).toEqual([{ userId: 'bob', connections: 1, info: { name: 'Bob' } }]);
  });

  it('answers presence only to subscribers the channel guards let in, and only on presence channels', async () => {
    const raw = await RawSocket.open(url(0), { cookie: 'token=token-bob' });
    try {
      expect(await raw.request({ t: 'presence', id: 1, channel: 'lobby/open' })).toMatchObject({
        t: 'err',
        code: 'NOT_SUBSCRIBED',
      });
      expect(await raw.request({ t: 'sub', id: 2, channel: 'lobby/secret' })).toMatchObject({ code: 'FORBIDDEN' });
      expect(await raw.request({ t: 'presence', id: 3, channel: 'lobby/secret' })).toMatchObject({
        code: 'NOT_SUBSCRIBED',
      });
      expect(await raw.request({ t: 'sub', id: 4, channel: 'news' })).toMatchObject({ t: 'subbed' });
      expect(await raw.request({ t: 'presence', id: 5, channel: 'news' })).toMatchObject({ code: 'PRESENCE_OFF' });
      expect(await raw.request({ t: 'presence', id: 6, channel: '' })).toMatchObject({ code: 'INVALID_CHANNEL' });
      raw.send({ t: 'presence', channel: 'news' });
      expect(await raw.next((frame) => frame.t === 'err' && frame.id === undefined)).toMatchObject({
        code: 'BAD_FRAME',
      });
      const allowed = await raw.request({
        t: 'sub',
        id: 7,
        channel: 'lobby/secret',
        query: { password: 'opensesame' },
      });
      expect(allowed).toMatchObject({ t: 'subbed' });
      expect(await raw.request({ t: 'presence', id: 8, channel: 'lobby/secret' })).toEqual({
        t: 'res',
        id: 8,
        data: [{ userId: 'bob', connections: 1, info: { name: 'Bob' } }],
      });
      // Presence events of a channel reach its subscribers only.
      const outsider = await RawSocket.open(url(0));
      try {
        await (await pool.connect(cookie('token-ann-1'), url(1))).subscribe('lobby/secret', { password: 'opensesame' });
        await raw.next((frame) => frame.t === 'presence');
        expect(raw.frames.filter((frame) => frame.t === 'presence')).toEqual([
          { t: 'presence', channel: 'lobby/secret', kind: 'join', userId: 'ann', info: { name: 'Ann' } },
        ]);
        await sleep(100);
        expect(outsider.frames.filter((frame) => frame.t === 'presence')).toEqual([]);
      } finally {
        outsider.close();
      }
    } finally {
      raw.close();
    }
  });

  it('shares one presence read between the subscribers of an instance that ask at once', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => pool.connect({}, url(0))));
    const subscriptions = await Promise.all(clients.map((client) => client.subscribe('lobby/crowd')));
    await (await pool.connect(cookie('token-bob'), url(1))).subscribe('lobby/crowd');
    const redisUrl = variant.redisUrl?.();
    const admin = redisUrl === undefined ? undefined : new Redis(redisUrl);
    try {
      await admin?.config('RESETSTAT');
      const answers = await Promise.all(subscriptions.map((subscription) => subscription.presence()));
      for (const answer of answers) expect(answer).toEqual([{ userId: 'bob', connections: 1, info: { name: 'Bob' } }]);
      if (admin) {
        const reads = Number(/cmdstat_hvals:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
        expect(reads).toBeGreaterThan(0);
        expect(reads).toBeLessThan(10);
      }
    } finally {
      admin?.disconnect();
    }
  });

  it('refuses the upgrade (500) when a session guard exposes presence info that is too large', async () => {
    expect((await upgradeStatus(url(0), { cookie: 'token=token-bob', 'x-bad-presence': 'yes' })).status).toBe(500);
  });

  it('shares session data between the sockets of a session on every instance, with a TTL', async () => {
    const here = await pool.connect(cookie('token-ann-1'), url(0));
    const there = await pool.connect(cookie('token-ann-1'), url(1));
    const otherSession = await pool.connect(cookie('token-ann-2'), url(1));
    const key = `cart-${randomUUID()}`;
    expect(await here.ask('session.set', { key, value: { items: [1, 2] } })).toBe(true);
    expect(await there.ask('session.get', key)).toEqual({ value: { items: [1, 2] } });
    expect(await otherSession.ask('session.get', key)).toEqual({});
    const publisher = apps[apps.length - 1].app.get(SssPublisher);
    expect(await publisher.session('token-ann-1').get(key)).toEqual({ items: [1, 2] });
    await publisher.session('token-ann-1').set(key, 'from the server');
    expect(await here.ask('session.get', key)).toEqual({ value: 'from the server' });
    expect(await there.ask('session.delete', key)).toBe(true);
    expect(await here.ask('session.get', key)).toEqual({});

    await here.ask('session.set', { key: 'short', value: 1, ttlMs: 2_000 });
    expect(await there.ask('session.get', 'short')).toEqual({ value: 1 });
    await eventually(async () => expect(await there.ask('session.get', 'short')).toEqual({}), 5_000);
  });

  it('bounds session data with clear errors', async () => {
    const client = await pool.connect(cookie('token-bob'), url(0));
    const anonymous = await pool.connect({}, url(0));
    await expect(anonymous.ask('session.get', 'x')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/no session id/),
    });
    // A value too large for a frame is refused on the server side too.
    await expect(apps[0].app.get(SssPublisher).session('token-bob').set('big', 'x'.repeat(70_000))).rejects.toThrow(
      /larger than 65536 bytes/,
    );
    await expect(client.ask('session.set', { key: 'ttl', value: 1, ttlMs: -5 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/ttlMs/),
    });
    await expect(client.ask('session.set', { key: '', value: 1 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const publisher = apps[0].app.get(SssPublisher);
    const session = publisher.session('token-bob');
    for (let index = 0; index < MAX_SESSION_KEYS; index++) await session.set(`k${index}`, index, { ttlMs: 4_000 });
    await expect(client.ask('session.set', { key: 'one-too-many', value: 1 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/already holds 100 keys/),
    });
    // Replacing a key is not a new key; expired keys free their place.
    await session.set('k0', 'again');
    await sleep(4_100);
    await eventually(async () => expect(await client.ask('session.set', { key: 'one-too-many', value: 1 })).toBe(true));
    expect(await session.get('k0')).toBe('again');
    expect(await session.get('k1')).toBeUndefined();
  });
});
