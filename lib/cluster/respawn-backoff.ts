import type { SssClusterRespawn } from './sss-cluster-options.interface.js';

/**
 * The delays before respawning one worker slot: immediate after a crash of a worker that ran for
 * `stableAfter`, then `initialDelay`, doubled with each further quick crash, up to `maxDelay`.
 */
export class RespawnBackoff {
  private quickCrashes = 0;

  constructor(private readonly options: Required<SssClusterRespawn>) {}

  /** The delay before the next start, given how long (ms) the crashed worker ran. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.options.stableAfter) this.quickCrashes = 0;
    this.quickCrashes += 1;
    if (this.quickCrashes === 1) return 0;
    return Math.min(this.options.maxDelay, this.options.initialDelay * 2 ** (this.quickCrashes - 2));
  }
}
