import type { SssRetention } from '../interfaces/sss-module-options.interface.js';

/** How a crashed worker is started again. */
export interface SssClusterRespawn {
  /**
   * Delay before the second respawn of a worker that keeps crashing, in ms; it doubles with each
   * further crash, up to `maxDelay`. The first respawn after a crash is immediate. Default: 500.
   */
  initialDelay?: number;
  /** Upper bound of the respawn delay, in ms. Default: 30_000. */
  maxDelay?: number;
  /**
   * A worker that ran this long (ms) before crashing counts as healthy: its next respawn is
   * immediate again. Default: 10_000.
   */
  stableAfter?: number;
}

/** Options of `SssCluster.run`. */
export interface SssClusterOptions {
  /** How many worker processes share the port. Default: one per core (`os.availableParallelism()`). */
  workers?: number;
  /** History the primary keeps for recovery, as the embedded scaler's. Default: `{ maxMessages: 1000, maxAgeMs: 86_400_000 }`. */
  retention?: SssRetention;
  /** Respawn backoff of crashed workers. */
  respawn?: SssClusterRespawn;
  /** How long a worker may take to listen after it is started, in ms (rolling restarts give up after it). Default: 60_000. */
  startTimeout?: number;
  /**
   * How long a draining worker (rolling restart, shutdown) may take to close its sockets and exit
   * before it is killed, in ms. Default: 15_000.
   */
  drainTimeout?: number;
  /**
   * Whether the primary handles SIGUSR2 (rolling restart) and SIGTERM/SIGINT (drain every worker,
   * then exit). Default: true.
   */
  handleSignals?: boolean;
}
