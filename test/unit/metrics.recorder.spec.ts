import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SssConfigurationError } from '../../lib/index.js';
import { createMetricsRecorder } from '../../lib/metrics/metrics-recorder.factory.js';
import { loadPromClient } from '../../lib/metrics/prom-client.loader.js';
import { NO_METRICS } from '../../lib/metrics/sss-metrics.recorder.js';

describe('metrics recorder', () => {
  it('is the no-op recorder when metrics are off', async () => {
    const recorder = await createMetricsRecorder(false);
    expect(recorder).toBe(NO_METRICS);
    expect(recorder.enabled).toBe(false);
    const publishing = Promise.resolve(1);
    expect(recorder.timePublish(publishing)).toBe(publishing);
  });

  it('fails startup saying what to install when prom-client cannot be loaded', async () => {
    // A package that is really not installed: Node's own resolution error is translated.
    const loading = loadPromClient('prom-client-that-is-not-installed');
    await expect(loading).rejects.toBeInstanceOf(SssConfigurationError);
    await expect(loading).rejects.toThrow(/install it \(npm install prom-client\), or leave `metrics` off/);
  });

  it('registers its metrics under the prefix, refuses a second module on the same names, and unregisters on close', async () => {
    const registry = new Registry();
    const recorder = await createMetricsRecorder({ registry, prefix: 'chat_' });
    expect(registry.getSingleMetric('chat_connections')).toBeDefined();
    expect(registry.getSingleMetric('chat_requests_total')).toBeDefined();
    await expect(createMetricsRecorder({ registry, prefix: 'chat_' })).rejects.toThrow(
      'The metric "chat_connections" is already registered in this registry',
    );
    // The refused one removed nothing of the first.
    expect(registry.getSingleMetric('chat_requests_total')).toBeDefined();
    recorder.close();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('reads gauges and frame counts when scraped', async () => {
    const registry = new Registry();
    const recorder = await createMetricsRecorder({ registry, prefix: 'sss_' });
    recorder.watch({ connections: () => 3, channels: () => 2, subscriptions: () => 5 });
    recorder.frameIn();
    recorder.frameOut();
    recorder.frameOut();
    const text = await registry.metrics();
    expect(text).toMatch(/^sss_connections 3$/m);
    expect(text).toMatch(/^sss_channels 2$/m);
    expect(text).toMatch(/^sss_subscriptions 5$/m);
    expect(text).toMatch(/^sss_frames_received_total 1$/m);
    expect(text).toMatch(/^sss_frames_sent_total 2$/m);
    recorder.frameIn();
    expect(await registry.metrics()).toMatch(/^sss_frames_received_total 2$/m);
    recorder.close();
  });
});
