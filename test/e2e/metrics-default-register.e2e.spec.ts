import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { FixtureAppModule } from './fixtures/app.module.js';
import { ClientPool, eventually } from './support/clients.js';
import { scrape } from './support/metrics-scrape.js';

/** `metrics: true` on the embedded scaler, served by @willsoto/nestjs-prometheus from prom-client's global registry. */
async function startApp(): Promise<{ app: INestApplication; port: number }> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      FixtureAppModule.register({ metrics: true }),
      PrometheusModule.register({ defaultMetrics: { enabled: false } }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

describe('metrics: true with @willsoto/nestjs-prometheus (embedded scaler)', () => {
  let started: { app: INestApplication; port: number } | undefined;
  const clients = new ClientPool(() => `ws://127.0.0.1:${started!.port}/sss`);

  afterEach(async () => {
    await clients.closeAll();
    await started?.app.close();
    started = undefined;
  });

  it("serves the module's metrics on PrometheusModule's /metrics", async () => {
    started = await startApp();
    const subscriber = await clients.connect();
    const subscription = await subscriber.subscribe('news');
    const received: unknown[] = [];
    subscription.on('headline', (data) => received.push(data));
    const publisher = await clients.connect();
    const before = await scrape(started.port);
    await publisher.ask('echo', 1);
    await publisher.tell('publish', { channel: 'news', topic: 'headline', data: 1 });
    await publisher.tell('publish', { channel: 'news', topic: 'headline', data: 2 });
    await eventually(() => expect(received).toHaveLength(2));
    const after = await scrape(started.port);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      after.value(name, labels) - before.value(name, labels);
    expect(after.value('sss_connections')).toBe(2);
    expect(after.value('sss_subscriptions')).toBe(1);
    expect(delta('sss_requests_total', { kind: 'ask', topic: 'echo', outcome: 'ok' })).toBe(1);
    expect(delta('sss_requests_total', { kind: 'tell', topic: 'publish', outcome: 'ok' })).toBe(2);
    expect(delta('sss_publishes_total', { outcome: 'stored' })).toBe(2);
    expect(delta('sss_fanout_lag_seconds_count')).toBe(2);
  });

  it('unregisters on close, so that the app can start again in the same process', async () => {
    started = await startApp();
    await started.app.close();
    expect(register.getSingleMetric('sss_connections')).toBeUndefined();
    started = await startApp();
    expect((await scrape(started.port)).value('sss_connections')).toBe(0);
    expect(register.getSingleMetric('sss_connections')).toBeDefined();
  });
});
