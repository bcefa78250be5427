import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { SssSubscription } from '../../../lib/client/index.js';
import { SssPublisher } from '../../../lib/index.js';
import { MongoRedisScaler, RedisScaler } from '../../../lib/mongo-redis.js';
import { TestRedisCluster } from '../../support/test-redis-cluster.js';
import { ClientPool, eventually, sleep } from '../support/clients.js';
import type { ScalerMessage } from '../../../lib/scaler/scaler.interface.js';
import { startFixtureApp, type StartedApp } from '../support/start-app.js';

interface Received {
  seq: number;
  data: unknown;
}

function record(subscription: SssSubscription, topic: string): Received[] {
  const received: Received[] = [];
  subscription.on(topic, (data, meta) => received.push({ seq: meta.seq, data }));
  return received;
}

/**
 * Mongo + Redis on a real 3-master Redis Cluster (sharded pub/sub), three app instances in this
 * process: where subscriptions and keys land, fan-out across instances and shards, and a master
 * killed and restarted while publishes go on.
 */
describe('MongoRedisScaler on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  const apps: StartedApp[] = [];
  const database = `sss_${randomUUID().slice(0, 8)}`;
  const pool = new ClientPool(() => apps[0].url);
  /** One direct connection per master, to look at what the scalers did. */
  const nodes: Redis[] = [];

  beforeAll(async () => {
    cluster = await TestRedisCluster.start();
    for (const { port } of cluster.nodeList) {
      // Down while its master restarts: it reconnects by itself.
      nodes.push(new Redis(port, '127.0.0.1').on('error', () => undefined));
    }
    for (let index = 0; index < 3; index++) {
      const scaler = new MongoRedisScaler({
        redisCluster: { nodes: cluster.nodeList },
        mongo: `${inject('mongoBaseUrl')}/${database}`,
        gapFillDelay: 50,
      });
      apps.push(await startFixtureApp({ scaler }));
    }
  }, 60_000);

  afterEach(() => pool.closeAll());

  afterAll(async () => {
    for (const started of apps) await started.app.close();
    for (const node of nodes) node.disconnect();
    await cluster?.stop();
  });

  /** Channel names whose slots are owned by each of the three masters, `perMaster` each. */
  async function channelsOnEveryMaster(perMaster: number, stem: string): Promise<string[][]> {
    const byMaster: string[][] = [[], [], []];
    for (let i = 0; byMaster.some((list) => list.length < perMaster); i++) {
      const channel = `room/${stem}-${i}`;
      const owner = await cluster.masterOf(`sss:ch:{${channel}}`);
      if (byMaster[owner].length < perMaster) byMaster[owner].push(channel);
    }
    return byMaster;
  }

  it("subscribes with SSUBSCRIBE on the master that owns the channel's slot, where its keys live too", async () => {
    const [[channel]] = await channelsOnEveryMaster(1, 'slot');
    const client = await pool.connect();
    await client.subscribe(channel);
    await apps[1].app.get(SssPublisher).publish(channel, 'chat', 'hello');
    const shardSubscribers = await Promise.all(
      nodes.map(
        async (node) => ((await node.call('PUBSUB', 'SHARDNUMSUB', `sss:ch:{${channel}}`)) as [string, number])[1],
      ),
    );
    // Every instance listens to its signals (a sharded channel); only the channel's subscriber app here.
    expect(shardSubscribers).toEqual([1, 0, 0]);
    for (const node of nodes) expect(await node.call('PUBSUB', 'CHANNELS')).toEqual([]);
    expect(await nodes[0].exists(`sss:hseq:{${channel}}`)).toBe(1);
  });

  it('fans out across three instances and three shards: every subscriber gets every message once, in order', async () => {
    const channels = (await channelsOnEveryMaster(2, 'fan')).flat();
    const clients = await Promise.all(apps.map((started) => pool.connect({}, started.url)));
    const received = new Map<string, Received[][]>();
    for (const channel of channels) {
      received.set(
        channel,
        await Promise.all(clients.map(async (client) => record(await client.subscribe(channel), 'chat'))),
      );
    }
    const perApp = 10;
    await Promise.all(
      apps.flatMap((started, appIndex) =>
        channels.map(async (channel) => {
          const publisher = started.app.get(SssPublisher);
          for (let i = 0; i < perApp; i++) await publisher.publish(channel, 'chat', `${appIndex}-${i}`);
        }),
      ),
    );
    const total = apps.length * perApp;
    await eventually(() => {
      for (const lists of received.values()) for (const list of lists) expect(list).toHaveLength(total);
    }, 10_000);
    for (const lists of received.values()) {
      for (const list of lists) {
        expect(list.map((entry) => entry.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        // Every instance's messages, each once, in the order its instance published them.
        for (let appIndex = 0; appIndex < apps.length; appIndex++) {
          const own = list.map((entry) => entry.data).filter((data) => String(data).startsWith(`${appIndex}-`));
          expect(own).toEqual(Array.from({ length: perApp }, (_, i) => `${appIndex}-${i}`));
        }
      }
      // All subscribers agree on the order.
      expect(lists[1]).toEqual(lists[0]);
      expect(lists[2]).toEqual(lists[0]);
    }
  });

  it('fans out with history off too: three RedisScaler instances, channels on every shard', async () => {
    const historyOff: StartedApp[] = [];
    try {
      for (let index = 0; index < 3; index++) {
        const scaler = new RedisScaler({ redisCluster: { nodes: cluster.nodeList }, prefix: 'off' });
        historyOff.push(await startFixtureApp({ scaler }));
      }
      const channels = (await channelsOnEveryMaster(1, 'off')).flat();
      const clients = await Promise.all(historyOff.map((started) => pool.connect({}, started.url)));
      const lists = await Promise.all(
        channels.flatMap((channel) => clients.map(async (client) => record(await client.subscribe(channel), 'chat'))),
      );
      await Promise.all(
        historyOff.flatMap((started, appIndex) =>
          channels.map(async (channel) => {
            const publisher = started.app.get(SssPublisher);
            for (let i = 0; i < 5; i++) await publisher.publish(channel, 'chat', `${appIndex}-${i}`);
          }),
        ),
      );
      await eventually(() => {
        for (const list of lists)
          expect(list.map((entry) => entry.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      }, 10_000);
      // The seq counters live on the master that owns each channel's slot.
      for (const channel of channels) {
        const owner = await cluster.masterOf(`off:ch:{${channel}}`);
        expect(await nodes[owner].get(`off:seq:{${channel}}`)).toBe('15');
      }
    } finally {
      await pool.closeAll();
      for (const started of historyOff) await started.app.close();
    }
  });

  it("takes the app's ioredis Cluster as `redis`: duplicates it, and leaves it open at close", async () => {
    const appCluster = new Cluster(cluster.nodeList);
    const messages: ScalerMessage[] = [];
    const scaler = new RedisScaler({ redis: appCluster, prefix: 'app' });
    try {
      await scaler.connect({
        onMessage: (message) => messages.push(message),
        onSignal: () => undefined,
        onPresence: () => undefined,
      });
      await scaler.subscribe('room/app-cluster');
      await scaler.publish('room/app-cluster', 'chat', 'one');
      await scaler.publish('room/app-cluster', 'chat', 'two');
      await eventually(() =>
        expect(messages.map((message) => [message.seq, message.data])).toEqual([
          [1, 'one'],
          [2, 'two'],
        ]),
      );
      await scaler.close();
      expect(await appCluster.get('app:seq:{room/app-cluster}')).toBe('2');
    } finally {
      await scaler.close();
      appCluster.disconnect();
    }
  });

  it('loses nothing acknowledged when the master that owns the channel is killed and restarted mid-stream', async () => {
    const [, [channel]] = await channelsOnEveryMaster(1, 'restart');
    const owner = await cluster.masterOf(`sss:ch:{${channel}}`);
    const clients = await Promise.all(apps.map((started) => pool.connect({}, started.url)));
    const received = await Promise.all(clients.map(async (client) => record(await client.subscribe(channel), 'chat')));
    const acked: Received[] = [];
    let rejected = 0;
    let publishing = true;
    // One publisher per instance, each sending one message at a time for as long as the test runs.
    const loops = apps.map(async (started, appIndex) => {
      const publisher = started.app.get(SssPublisher);
      for (let i = 0; publishing; i++) {
        const data = `${appIndex}-${i}`;
        try {
          const position = await publisher.publish(channel, 'chat', data);
          acked.push({ seq: position.seq, data });
        } catch {
          rejected++;
          await sleep(50);
        }
        await sleep(5);
      }
    });
    await eventually(() => expect(acked.length).toBeGreaterThan(30), 10_000);
    const beforeRestart = acked.length;
    await cluster.restartNode(owner, 1_000);
    const afterRestart = acked.length;
    await eventually(() => expect(acked.length).toBeGreaterThan(afterRestart + 30), 15_000);
    publishing = false;
    await Promise.all(loops);

    const expected = [...acked].sort((a, b) => a.seq - b.seq);
    await eventually(() => {
      for (const list of received) {
        for (const entry of expected) expect(list.some((got) => got.seq === entry.seq)).toBe(true);
      }
    }, 15_000);
    for (const list of received) {
      const seqs = list.map((entry) => entry.seq);
      // In order and exactly once: strictly increasing seqs.
      expect(seqs.every((seq, index) => index === 0 || seq > seqs[index - 1])).toBe(true);
      // Every acknowledged message, with the data it was acknowledged for.
      const bySeq = new Map(list.map((entry) => [entry.seq, entry.data]));
      for (const entry of expected) expect(bySeq.get(entry.seq)).toBe(entry.data);
    }
    console.log(
      `master restart: ${beforeRestart} acked before, ${afterRestart - beforeRestart} during, ` +
        `${acked.length - afterRestart} after; ${rejected} rejected publishes`,
    );
  }, 60_000);
});
