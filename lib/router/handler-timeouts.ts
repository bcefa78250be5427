/** A handler that has not answered yet. */
export interface PendingRun {
  /** When it fails with TIMEOUT (ms since epoch). */
  readonly deadline: number;
  readonly onTimeout: () => void;
}

/**
 * The clock of the handlers still running. They all have the same time limit, so the oldest is
 * always the next to expire: one timer, armed for the oldest, instead of a timer per request.
 */
export class HandlerTimeouts {
  /** In start order, so in deadline order. */
  private readonly runs = new Set<PendingRun>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly timeoutMs: number) {}

  /** Starts the clock of a run; `onTimeout` is called if it is still running when its time is up. */
  start(onTimeout: () => void): PendingRun {
    const run: PendingRun = { deadline: Date.now() + this.timeoutMs, onTimeout };
    this.runs.add(run);
    this.timer ??= this.schedule(this.timeoutMs);
    return run;
  }

  /** Takes a run off the clock; false when it already timed out. */
  finish(run: PendingRun): boolean {
    if (!this.runs.delete(run)) return false;
    // Nothing left to time: no timer may keep the process alive longer than a handler would.
    if (this.runs.size === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return true;
  }

  /** Fails the runs whose time is up, then waits for the oldest of the others. */
  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const run of this.runs) {
      if (run.deadline > now) {
        // An onTimeout above may have started a run, and with it a timer: keep one.
        clearTimeout(this.timer);
        this.timer = this.schedule(run.deadline - now);
        return;
      }
      this.runs.delete(run);
      run.onTimeout();
    }
  }

  private schedule(delayMs: number): NodeJS.Timeout {
    return setTimeout(() => this.expire(), Math.max(1, delayMs));
  }
}
