import type { ResolvedSssOptions } from '../interfaces/resolved-options.interface.js';
import { loadPromClient } from './prom-client.loader.js';
import { NO_METRICS, type SssMetricsRecorder } from './sss-metrics.recorder.js';

/** The recorder the options ask for; prom-client (and the recorder built on it) is loaded only when metrics are on. */
export async function createMetricsRecorder(metrics: ResolvedSssOptions['metrics']): Promise<SssMetricsRecorder> {
  if (metrics === false) return NO_METRICS;
  const promClient = await loadPromClient();
  const { PrometheusMetricsRecorder } = await import('./prometheus-metrics.recorder.js');
  return new PrometheusMetricsRecorder(promClient, metrics.registry, metrics.prefix);
}
