/** The largest delay `setTimeout` honours; longer waits are taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** After a refresh, the shortest wait before asking again for a credential that still expires soon. */
const MIN_REASK_MS = 1_000;

/** What a `CredentialExpiry` does when its time comes. */
export interface CredentialExpiryHandlers {
  /** Ask the client for a fresh credential; `expiresIn` ms remain (0 or less: the grace period runs). */
  refreshDue(expiresIn: number): void;
  /** The expiry plus the grace period passed without a fresh credential. */
  expired(): void;
}

/**
 * The clock of one connection's credential: `refreshDue` at `expiresAt - leadTime` (at once when
 * that has passed), `expired` at `expiresAt + grace`. A new `expiresAt` (a refresh) starts over.
 * One timer at a time; waits longer than `setTimeout` allows are taken in steps.
 */
export class CredentialExpiry {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private expiry: number | undefined;

  constructor(
    private readonly handlers: CredentialExpiryHandlers,
    private readonly leadTime: number,
    private readonly grace: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the credential expires (ms since the epoch); `undefined` when it does not. */
  get expiresAt(): number | undefined {
    return this.expiry;
  }

  /**
   * Sets (or, with `undefined`, removes) the expiry and schedules what follows from it. After a
   * refresh (`refreshed`), a credential that already expires within the lead time is not asked
   * for again at once but when half of its remaining life has passed, and not at all when that is
   * under a second: a client whose `getToken()` keeps returning the same token is asked a bounded
   * number of times, not in a loop.
   */
  set(expiresAt: number | undefined, refreshed = false): void {
    this.stop();
    this.expiry = expiresAt;
    if (expiresAt === undefined) return;
    const expire = () =>
      this.schedule(expiresAt + this.grace, () => {
        this.timer = undefined;
        this.handlers.expired();
      });
    let refreshAt = expiresAt - this.leadTime;
    if (refreshed) {
      const now = this.now();
      const halfLife = (expiresAt - now) / 2;
      if (refreshAt < now + halfLife) {
        // Too little life left to be worth asking again: the grace period is all that remains.
        if (halfLife < MIN_REASK_MS) return expire();
        refreshAt = now + halfLife;
      }
    }
    this.schedule(refreshAt, () => {
      this.handlers.refreshDue(expiresAt - this.now());
      expire();
    });
  }

  /** Cancels every timer (the socket closed). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs `action` at time `at` (at once, on the next turn, when it has passed). */
  private schedule(at: number, action: () => void): void {
    const delay = Math.max(0, at - this.now());
    const step = Math.min(delay, MAX_TIMER_MS);
    this.timer = setTimeout(() => (step < delay ? this.schedule(at, action) : action()), step);
    // An expiring socket must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}
