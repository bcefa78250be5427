import type { RecoveryFailure } from '../protocol/frames.js';
import { NO_SCALER_METRICS, type ScalerMetrics } from '../scaler/scaler-metrics.interface.js';

/** The topic label of asks and tells whose topic has no handler (so that clients cannot add label values). */
export const UNKNOWN_TOPIC_LABEL = '(unknown)';

/** Why an HTTP upgrade on the endpoint's path was refused. */
export type UpgradeRefusal =
  'not_found' | 'draining' | 'origin' | 'address_limit' | 'session_refused' | 'session_error' | 'unsupported_version';

/** How an ask or tell ended. */
export type RequestOutcome = 'ok' | 'error' | 'timeout' | 'unknown_topic';

/** What the recorder reads when it is scraped (nothing is counted on the hot path for these). */
export interface GaugeSources {
  connections(): number;
  channels(): number;
  subscriptions(): number;
}

/**
 * Where the module records its metrics. The default records nothing; with
 * `SssModuleOptions.metrics` it is backed by prom-client. Callers pass only values they already
 * have (no label objects, no clock reads when `enabled` is false), so that metrics off cost a call.
 */
export interface SssMetricsRecorder extends ScalerMetrics {
  /** Reads connections, channels and subscriptions when scraped. */
  watch(sources: GaugeSources): void;
  upgradeRefused(reason: UpgradeRefusal): void;
  frameIn(): void;
  frameOut(): void;
  /**
   * An ask or tell ended. `topic` must be a topic that has a handler (or `UNKNOWN_TOPIC_LABEL`);
   * `startedAt` is `performance.now()` when it started (ignored for `unknown_topic`).
   */
  handled(kind: 'ask' | 'tell', topic: string, outcome: RequestOutcome, startedAt: number): void;
  /** Measures a publish until its promise settles (stored or refused); returns the same promise. */
  timePublish<T>(publishing: Promise<T>): Promise<T>;
  /** A re-subscription with `since` was answered: recovered, or why not. */
  recovery(result: 'recovered' | RecoveryFailure): void;
  /** A socket was dropped as a slow consumer: its send buffer, or its backlog while catching up. */
  slowConsumerDropped(where: 'buffer' | 'backlog'): void;
  /** A channel message reached this instance's subscribers; `publishedAt` as in `ScalerMessage`. */
  delivered(publishedAt: number): void;
  /** Unregisters what it registered. */
  close(): void;
}

/** The recorder used when metrics are off. */
export const NO_METRICS: SssMetricsRecorder = {
  ...NO_SCALER_METRICS,
  watch: () => undefined,
  upgradeRefused: () => undefined,
  frameIn: () => undefined,
  frameOut: () => undefined,
  handled: () => undefined,
  timePublish: (publishing) => publishing,
  recovery: () => undefined,
  slowConsumerDropped: () => undefined,
  delivered: () => undefined,
  close: () => undefined,
};
