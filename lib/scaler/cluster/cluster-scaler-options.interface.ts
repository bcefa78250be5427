import type { ClusterLink } from './cluster-ipc.messages.js';

/** Options of `ClusterScaler` (the history's retention is `SssCluster.run`'s: the primary keeps it). */
export interface ClusterScalerOptions {
  /**
   * How long a request to the primary (publish, subscribe, recovery) may take before it fails
   * with `UNAVAILABLE`, in ms. Default: 10_000.
   */
  requestTimeout?: number;
  /**
   * The link to the broker. Default: this worker's IPC channel to its primary. Tests pass
   * `ClusterBroker.loopback()` to run the broker in the same process.
   */
  link?: ClusterLink;
}
