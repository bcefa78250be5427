/**
 * The part of a prom-client `Registry` the module uses; prom-client's `register` and any
 * `new Registry()` fit. (Typed structurally, so that the package's types need no prom-client.)
 */
export interface SssMetricsRegistry {
  registerMetric(metric: unknown): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** Options of `SssModuleOptions.metrics`: Prometheus metrics through prom-client (an optional peer). */
export interface SssMetricsOptions {
  /**
   * The registry the metrics are registered in. Default: prom-client's global `register` (the one
   * `@willsoto/nestjs-prometheus` serves by default).
   */
  registry?: SssMetricsRegistry;
  /** Prefix of every metric name; letters, digits, `_` and `:`. Default 'sss_'. */
  prefix?: string;
}
