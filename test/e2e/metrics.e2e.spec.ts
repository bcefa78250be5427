import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { CloseCode, SssModule, SssPublisher, type SssModuleOptions } from '../../lib/index.js';
import { MongoRedisScaler } from '../../lib/mongo-redis.js';
import { SocketRegistry } from '../../lib/server/socket.registry.js';
import { PausableProxy } from '../support/pausable-proxy.js';
import { TestRedis } from '../support/test-services.js';
import { ObservabilityAppModule } from './fixtures/observability.module.js';
import { ClientPool, eventually } from './support/clients.js';
import { scrape, type Scrape } from './support/metrics-scrape.js';
import { RawSocket } from './support/raw-socket.js';
import { upgradeStatus } from './support/upgrade-status.js';

/** What terminus answers. */
interface HealthBody {
  info?: Record<string, unknown>;
  error?: Record<string, unknown>;
}

interface Instance {
  app: INestApplication;
  port: number;
  url: string;
}

/** Two instances on one Redis and one database, each with metrics in a registry of its own. */
describe('metrics on a real /metrics endpoint (Mongo + Redis)', () => {
  let redis: TestRedis;
  const database = `sss_metrics_${randomUUID().slice(0, 8)}`;
  let a: Instance;
  let b: Instance;
  const clients = new ClientPool(() => a.url);

  async function startInstance(options: SssModuleOptions = {}): Promise<Instance> {
    const scaler = new MongoRedisScaler({
      redis: redis.url,
      mongo: `${inject('mongoBaseUrl')}/${database}`,
      gapFillDelay: 50,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ObservabilityAppModule.register(new Registry(), { scaler, ...options })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    return { app, port, url: `ws://127.0.0.1:${port}/sss` };
  }

  beforeAll(async () => {
    redis = await TestRedis.start();
    a = await startInstance({ shutdownTimeout: 2_000 });
    b = await startInstance({ limits: { maxBufferedBytes: 64 * 1024 } });
  });

  afterAll(async () => {
    await clients.closeAll();
    await a?.app.close();
    await b?.app.close();
    await redis?.stop();
  });

  /** The change of each value between two scrapes. */
  const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
    after.value(name, labels) - before.value(name, labels);

  it('counts asks and tells by topic and outcome, with their durations', async () => {
    const client = await clients.connect();
    const before = await scrape(a.port);
    for (let i = 0; i < 3; i++) await client.ask('echo', i);
    await expect(client.ask('wsError', 'plain')).rejects.toThrow();
    await client.tell('tellMe', 'told');
    await client.tell('tellMe', 'told');
    const after = await scrape(a.port);

    expect(delta(before, after, 'sss_requests_total', { kind: 'ask', topic: 'echo', outcome: 'ok' })).toBe(3);
    expect(delta(before, after, 'sss_requests_total', { kind: 'ask', topic: 'wsError', outcome: 'error' })).toBe(1);
    expect(delta(before, after, 'sss_requests_total', { kind: 'tell', topic: 'tellMe', outcome: 'ok' })).toBe(2);
    expect(delta(before, after, 'sss_request_duration_seconds_count', { kind: 'ask', topic: 'echo' })).toBe(3);
    expect(delta(before, after, 'sss_request_duration_seconds_count', { kind: 'tell', topic: 'tellMe' })).toBe(2);
    expect(after.value('sss_request_duration_seconds_bucket', { kind: 'ask', topic: 'echo', le: '+Inf' })).toBe(
      after.value('sss_request_duration_seconds_count', { kind: 'ask', topic: 'echo' }),
    );
  });

  it('never turns a topic a client sends into a label value', async () => {
    const raw = await RawSocket.open(a.url);
    const before = await scrape(a.port);
    const hostile = Array.from({ length: 150 }, (_, i) => `hostile-${randomUUID()}-${i}`);
    hostile.forEach((topic, i) => raw.send({ t: i % 2 ? 'tell' : 'ask', id: i + 1, topic }));
    await raw.next((frame) => frame.id === hostile.length, 5_000);
    const after = await scrape(a.port);
    raw.close();

    expect(
      delta(before, after, 'sss_requests_total', { kind: 'ask', topic: '(unknown)', outcome: 'unknown_topic' }),
    ).toBe(75);
    expect(
      delta(before, after, 'sss_requests_total', { kind: 'tell', topic: '(unknown)', outcome: 'unknown_topic' }),
    ).toBe(75);
    expect(after.text).not.toContain('hostile-');
    // At most the two `(unknown)` series are new, however many topics were sent.
    expect(after.series('sss_requests_total').length - before.series('sss_requests_total').length).toBeLessThanOrEqual(
      2,
    );
  });

  it('counts frames in and out, connections, channels and subscriptions', async () => {
    const raw = await RawSocket.open(a.url);
    const before = await scrape(a.port);
    for (let i = 0; i < 3; i++) raw.send({ t: 'ping' });
    await eventually(() => expect(raw.frames.filter((frame) => frame.t === 'pong')).toHaveLength(3));
    const after = await scrape(a.port);
    expect(delta(before, after, 'sss_frames_received_total')).toBe(3);
    expect(delta(before, after, 'sss_frames_sent_total')).toBe(3);

    const sockets = a.app.get(SocketRegistry, { strict: false });
    expect(after.value('sss_connections')).toBe(sockets.size);
    const gaugesBefore = await scrape(b.port);
    const subscriber = await clients.connect({}, b.url);
    await subscriber.subscribe('news');
    await subscriber.subscribe('room/gauges');
    const gaugesAfter = await scrape(b.port);
    expect(delta(gaugesBefore, gaugesAfter, 'sss_connections')).toBe(1);
    expect(delta(gaugesBefore, gaugesAfter, 'sss_subscriptions')).toBe(2);
    expect(delta(gaugesBefore, gaugesAfter, 'sss_channels')).toBe(2);
    raw.close();
    await subscriber.close();
  });

  it('times publishes to the store, and the fan-out lag to subscribers on another instance', async () => {
    const subscriber = await clients.connect({}, b.url);
    const subscription = await subscriber.subscribe('news');
    const received: unknown[] = [];
    subscription.on('headline', (data) => received.push(data));
    const publisherClient = await clients.connect();
    const beforeA = await scrape(a.port);
    const beforeB = await scrape(b.port);
    for (let i = 0; i < 5; i++) {
      await publisherClient.tell('publish', { channel: 'news', topic: 'headline', data: { i } });
    }
    await eventually(() => expect(received).toHaveLength(5));
    const afterA = await scrape(a.port);
    const afterB = await scrape(b.port);
    expect(delta(beforeA, afterA, 'sss_publishes_total', { outcome: 'stored' })).toBe(5);
    expect(delta(beforeA, afterA, 'sss_publish_duration_seconds_count')).toBe(5);
    expect(delta(beforeB, afterB, 'sss_fanout_lag_seconds_count')).toBe(5);
    // Published and delivered on one machine: well under a second each.
    expect(delta(beforeB, afterB, 'sss_fanout_lag_seconds_bucket', { le: '1' })).toBe(5);
    await subscriber.close();
    await publisherClient.close();
  });

  it('counts recoveries by result', async () => {
    const first = await RawSocket.open(b.url);
    first.send({ t: 'sub', id: 1, channel: 'news' });
    const subbed = await first.next((frame) => frame.t === 'subbed');
    const before = await scrape(b.port);
    const recovering = await RawSocket.open(b.url);
    recovering.send({ t: 'sub', id: 1, channel: 'news', since: { epoch: subbed.epoch, seq: subbed.seq } });
    recovering.send({ t: 'sub', id: 2, channel: 'room/recovery', since: { epoch: 'not-this-one', seq: 1 } });
    await recovering.next((frame) => frame.t === 'subbed' && frame.id === 1);
    await recovering.next((frame) => frame.t === 'subbed' && frame.id === 2);
    const after = await scrape(b.port);
    expect(delta(before, after, 'sss_recoveries_total', { result: 'recovered' })).toBe(1);
    expect(delta(before, after, 'sss_recoveries_total', { result: 'epoch_changed' })).toBe(1);
    first.close();
    recovering.close();
  });

  it('counts refused upgrades by reason', async () => {
    const before = await scrape(a.port);
    expect((await upgradeStatus(a.url, { 'x-deny': '1' })).status).toBe(403);
    expect((await upgradeStatus(a.url, { 'x-deny': '1' })).status).toBe(403);
    // Accepted by HTTP, then closed at once: the client asked for a protocol version we do not speak.
    const versioned = new WebSocket(`${a.url}?v=99`);
    const closeCode = await new Promise<number>((resolve) => versioned.on('close', (code) => resolve(code)));
    expect(closeCode).toBe(CloseCode.UnsupportedVersion);
    const after = await scrape(a.port);
    expect(delta(before, after, 'sss_upgrades_refused_total', { reason: 'session_refused' })).toBe(2);
    expect(delta(before, after, 'sss_upgrades_refused_total', { reason: 'unsupported_version' })).toBe(1);
  });

  it('counts a slow consumer dropped because its send buffer outgrew the limit', async () => {
    const proxy = await PausableProxy.start(b.port);
    try {
      const slow = await clients.connect({ reconnect: false }, `ws://127.0.0.1:${proxy.port}/sss`);
      await slow.subscribe('room/slow');
      const before = await scrape(b.port);
      const sockets = b.app.get(SocketRegistry, { strict: false });
      const openBefore = sockets.size;
      proxy.pause();
      const publisher = b.app.get(SssPublisher);
      const text = 'x'.repeat(60_000);
      for (let round = 0; sockets.size === openBefore && round < 200; round++) {
        await Promise.all(Array.from({ length: 10 }, () => publisher.publish('room/slow', 'said', { text })));
      }
      expect(sockets.size).toBe(openBefore - 1);
      const after = await scrape(b.port);
      expect(delta(before, after, 'sss_slow_consumer_drops_total', { where: 'buffer' })).toBe(1);
      // The client learns of the drop once it reads again.
      proxy.resume();
      await slow.close();
    } finally {
      proxy.resume();
      await proxy.stop();
    }
  }, 60_000);

  it('counts the gap fill that reads back what Redis never delivered', async () => {
    const subscriber = await clients.connect({}, b.url);
    const subscription = await subscriber.subscribe('room/gap-fill');
    const received: unknown[] = [];
    subscription.on('said', (data) => received.push(data));
    const control = new Redis(redis.url);
    try {
      const before = await scrape(b.port);
      // Cut the subscriber connections off, and keep them from coming back while A publishes: what
      // A publishes meanwhile is stored, but Redis has nobody to deliver it to.
      const connected = Number(/connected_clients:(\d+)/.exec(await control.info('clients'))![1]);
      // Full first (Redis keeps the clients it has), so that no reconnect slips in after the kill.
      await control.config('SET', 'maxclients', String(connected - 2));
      expect(await control.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBe(2);
      const publisher = a.app.get(SssPublisher);
      for (let i = 0; i < 3; i++) await publisher.publish('room/gap-fill', 'said', { i });
      expect(received).toEqual([]);
      await control.config('SET', 'maxclients', '10000');
      // B's subscriber reconnects and reads on from its last position.
      await eventually(() => expect(received).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]), 10_000);
      const after = await scrape(b.port);
      expect(delta(before, after, 'sss_gap_fills_total')).toBeGreaterThanOrEqual(1);
      expect(delta(before, after, 'sss_gap_fill_messages_total')).toBe(3);
    } finally {
      await control.config('SET', 'maxclients', '10000');
      control.disconnect();
      await subscriber.close();
    }
  }, 30_000);

  it('answers /health 200, 503 while Redis is down, 200 once it is back; readiness 503 while draining', async () => {
    const health = async (path = '/health') => {
      const response = await fetch(`http://127.0.0.1:${a.port}${path}`);
      return { status: response.status, body: (await response.json()) as HealthBody };
    };
    // The test before this one cut the Redis connections: it starts once they are back.
    await eventually(async () => expect((await health()).status).toBe(200), 10_000);
    const up = await health();
    expect(up.status).toBe(200);
    expect(up.body.info?.sss).toMatchObject({ status: 'up', redis: { up: true }, store: { up: true } });

    const before = await scrape(a.port);
    const restarting = redis.restart(3_000);
    await eventually(async () => {
      const down = await health();
      expect(down.status).toBe(503);
      expect(down.body.error?.sss).toMatchObject({ status: 'down', redis: { up: false }, store: { up: true } });
    }, 3_000);
    await restarting;
    await eventually(async () => expect((await health()).status).toBe(200), 10_000);
    expect(delta(before, await scrape(a.port), 'sss_backend_errors_total', { backend: 'redis' })).toBeGreaterThan(0);

    await clients.closeAll();
    expect((await health('/health/ready')).status).toBe(200);
    // A client that never answers the close: the instance drains for the whole shutdownTimeout.
    const lingering = await RawSocket.open(a.url);
    (lingering.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const closing = a.app.close();
    const draining = await health('/health/ready');
    expect(draining.status).toBe(503);
    expect(draining.body.error?.sss).toEqual({ status: 'down', draining: true });
    await closing;
    lingering.close();
    a = undefined as unknown as Instance;
  }, 60_000);
});

describe('metrics off', () => {
  it('registers nothing in the default registry', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SssModule.forRoot({})] }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    try {
      const { register } = await import('prom-client');
      expect(register.getSingleMetric('sss_connections')).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
