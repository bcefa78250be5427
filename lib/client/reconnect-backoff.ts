/** How the client spaces its reconnection attempts. */
export interface ReconnectOptions {
  /** Upper bound of the first delay, in ms. Default: 250. */
  initialDelay: number;
  /** Upper bound of any delay, in ms. Default: 10_000. */
  maxDelay: number;
  /** How much the upper bound grows per failed attempt. Default: 2. */
  factor: number;
}

/** The reconnection defaults: `{ initialDelay: 250, maxDelay: 10_000, factor: 2 }`. */
export const DEFAULT_RECONNECT_OPTIONS: Readonly<ReconnectOptions> = Object.freeze({
  initialDelay: 250,
  maxDelay: 10_000,
  factor: 2,
});

/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random time in
 * `[0, min(maxDelay, initialDelay * factor^n))`, so clients dropped together do not return together.
 */
export class ReconnectBackoff {
  private attempt = 0;

  /**
   * @param options the delay bounds.
   * @param random a source of numbers in [0, 1); default: `Math.random`.
   */
  constructor(
    private readonly options: ReconnectOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call grows the bound until `maxDelay`. */
  next(): number {
    const bound = Math.min(this.options.maxDelay, this.options.initialDelay * this.options.factor ** this.attempt);
    this.attempt += 1;
    return Math.floor(this.random() * bound);
  }

  /** A short delay in `[0, initialDelay)` that does not grow the backoff (the server is going away). */
  quick(): number {
    return Math.floor(this.random() * Math.min(this.options.initialDelay, this.options.maxDelay));
  }

  /** Starts over from `initialDelay` (after a successful connection). */
  reset(): void {
    this.attempt = 0;
  }
}
