import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisScaler } from '../../../lib/mongo-redis.js';
import type { Scaler, ScalerListener } from '../../../lib/scaler/scaler.interface.js';
import { TcpBalancer } from '../../support/tcp-balancer.js';
import { TestRedis } from '../../support/test-services.js';
import { ClientPool, eventually } from '../support/clients.js';
import { startFixtureApp, type StartedApp } from '../support/start-app.js';

const idle: ScalerListener = { onMessage: () => undefined, onSignal: () => undefined, onPresence: () => undefined };

/**
 * History off, end to end: what Redis drops while an instance is cut off can never be delivered,
 * and the subscriber is told so explicitly (`recovered: false`) instead of seeing a silent hole.
 */
describe('a Redis blip with history off', () => {
  let redis: TestRedis;
  let gate: TcpBalancer;
  let started: StartedApp;
  let publisher: Scaler;
  const pool = new ClientPool(() => started.url);

  beforeAll(async () => {
    redis = await TestRedis.start();
    gate = await TcpBalancer.start([redis.port]);
    started = await startFixtureApp({ scaler: new RedisScaler({ redis: `redis://127.0.0.1:${gate.port}` }) });
    publisher = new RedisScaler({ redis: redis.url });
    await publisher.connect(idle);
  });

  afterEach(() => pool.closeAll());

  afterAll(async () => {
    await started?.app.close();
    await publisher?.close();
    await gate?.down();
    await redis?.stop();
  });

  it('tells the subscriber recovered: false (out_of_retention), then goes on with live messages', async () => {
    const client = await pool.connect();
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.code));
    const news = await client.subscribe('news');
    const received: unknown[] = [];
    const resubscribed: unknown[] = [];
    news.on('article', (data) => received.push(data));
    news.onEvent('resubscribed', (event) => resubscribed.push(event));
    await publisher.publish('news', 'article', 'a');
    await eventually(() => expect(received).toEqual(['a']));
    await gate.down();
    await publisher.publish('news', 'article', 'lost 1');
    await publisher.publish('news', 'article', 'lost 2');
    await gate.up();
    await eventually(() => expect(resubscribed).toEqual([{ recovered: false, reason: 'out_of_retention' }]), 10_000);
    await publisher.publish('news', 'article', 'b');
    await eventually(() => expect(received).toEqual(['a', 'b']));
    expect(news.closed).toBe(false);
    expect(news.position.seq).toBe(4);
  });
});
