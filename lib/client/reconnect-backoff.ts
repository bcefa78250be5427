/** Bounds of an exponential backoff with full jitter. */
export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  initialDelay: number;
  /** Upper bound of any delay, in ms. */
  maxDelay: number;
  /** How much the upper bound grows per failed attempt. */
  factor: number;
}

/** How the client spaces its reconnection attempts. */
export interface ReconnectOptions extends BackoffOptions {
  /** Upper bound of the first delay after a failed attempt, in ms. Default: 250. */
  initialDelay: number;
  /** Upper bound of any delay, in ms. Default: 10_000. */
  maxDelay: number;
  /** How much the upper bound grows per failed attempt. Default: 2. */
  factor: number;
  /**
   * The first attempt after a lost connection (a drop, or close code 1001 from a server going away)
   * waits a uniformly random time in `[0, spreadWindow)` ms, so that the clients of a lost instance
   * do not all land on the survivors at once; later failed attempts use the exponential backoff.
   * Capped by `maxDelay`. Keep it well under the failover time you promise. Default: 1000.
   */
  spreadWindow: number;
}

/** The reconnection defaults: `{ initialDelay: 250, maxDelay: 10_000, factor: 2, spreadWindow: 1000 }`. */
export const DEFAULT_RECONNECT_OPTIONS: Readonly<ReconnectOptions> = Object.freeze({
  initialDelay: 250,
  maxDelay: 10_000,
  factor: 2,
  spreadWindow: 1000,
});

/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random time in
 * `[0, min(maxDelay, initialDelay * factor^n))`, so clients dropped together do not return together.
 */
export class ReconnectBackoff {
  private attempt = 0;

  /**
   * @param options the delay bounds (`spreadWindow` defaults to `initialDelay` when absent).
   * @param random a source of numbers in [0, 1); default: `Math.random`.
   */
  constructor(
    private readonly options: BackoffOptions & { spreadWindow?: number },
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

  /**
   * A delay spread uniformly over `[0, min(spreadWindow, maxDelay))` that does not grow the backoff
   * (the first attempt after a lost connection).
   */
  spread(): number {
    const window = Math.min(this.options.spreadWindow ?? this.options.initialDelay, this.options.maxDelay);
    return Math.floor(this.random() * Math.max(0, window));
  }

  /** Starts over from `initialDelay` (after a successful connection). */
  reset(): void {
    this.attempt = 0;
  }
}
