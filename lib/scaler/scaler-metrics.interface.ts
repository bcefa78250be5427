/**
 * What a scaler reports to the module's metrics (`SssModuleOptions.metrics`). The module hands it
 * over through `Scaler.useMetrics()` before `connect()`; when metrics are off, it is a recorder
 * whose methods do nothing and whose `enabled` is false.
 */
export interface ScalerMetrics {
  /** Whether anything is recorded: when false, skip any work done only for the metrics. */
  readonly enabled: boolean;
  /** A gap fill ran and handed `messages` read back from the store (placeholders included) to the stream. */
  gapFilled(messages: number): void;
  /** A call to Redis or to the message store failed. */
  backendError(backend: 'redis' | 'store'): void;
}

/** The health of the services a scaler depends on, by name (`redis`, `store`). */
export type ScalerHealth = Record<string, { up: boolean; message?: string }>;

/** A `ScalerMetrics` that records nothing. */
export const NO_SCALER_METRICS: ScalerMetrics = {
  enabled: false,
  gapFilled: () => undefined,
  backendError: () => undefined,
};
