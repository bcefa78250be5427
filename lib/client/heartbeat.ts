/** What the heartbeat does when it is time to act. */
export interface HeartbeatHandlers {
  /** Nothing was sent for a whole interval: send a `ping`. */
  ping(): void;
  /** Nothing was received for twice the interval plus the grace: the connection is dead. */
  dead(): void;
}

/**
 * Keeps one connection alive and notices when it died silently. It checks every `interval / 2` ms:
 * it pings when the client has sent nothing for `interval` ms, and declares the connection dead
 * when nothing arrived for `2 * interval + grace` ms (PROTOCOL.md, Heartbeat).
 */
export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSentAt = 0;
  private lastReceivedAt = 0;
  // NOTE: frames only raise flags; the timer turns them into times. A clock read per frame costs
  // more than the heartbeat is worth on a busy connection, and the timer's granularity is the same.
  private sentSinceCheck = false;
  private receivedSinceCheck = false;

  /**
   * @param handlers what to do on a ping or a death.
   * @param grace extra silence in ms, beyond twice the interval, before the connection counts as dead.
   */
  constructor(
    private readonly handlers: HeartbeatHandlers,
    private readonly grace: number,
  ) {}

  /** Whether it is running. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts (or restarts) for a new connection; an interval that is not positive disables it. */
  start(interval: number): void {
    this.stop();
    if (!(interval > 0)) return;
    const deadAfter = 2 * interval + this.grace;
    this.lastSentAt = this.lastReceivedAt = Date.now();
    this.sentSinceCheck = this.receivedSinceCheck = false;
    this.timer = setInterval(
      () => {
        const now = Date.now();
        if (this.sentSinceCheck) this.lastSentAt = now;
        if (this.receivedSinceCheck) this.lastReceivedAt = now;
        this.sentSinceCheck = this.receivedSinceCheck = false;
        if (now - this.lastReceivedAt >= deadAfter) {
          this.stop();
          this.handlers.dead();
        } else if (now - this.lastSentAt >= interval) {
          this.handlers.ping();
        }
      },
      Math.max(1, Math.floor(interval / 2)),
    );
  }

  /** Stops; no timer is left behind. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The client sent a frame (a ping included). */
  sent(): void {
    this.sentSinceCheck = true;
  }

  /** A frame arrived. */
  received(): void {
    this.receivedSinceCheck = true;
  }
}
