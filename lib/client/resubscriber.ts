import { ErrorCode, type SubscribedFrame } from '../protocol/frames.js';
import { ReconnectBackoff, type BackoffOptions } from './reconnect-backoff.js';
import type { SssReconnectEvent, SssResubscriptionResult } from './sss-client-events.interface.js';
import { SssClientErrorCode, type SssClientError } from './sss-client.error.js';
import type { SssSubscription } from './sss-subscription.js';

/** How a subscription is re-subscribed after a reconnect or a sequence gap. */
export interface ResubscribeOptions extends BackoffOptions {
  /** Timeout of each re-subscription request in ms; a timeout is retried like a temporary error. Default: 10_000. */
  timeout: number;
  /** Upper bound of the delay before the first retry after a temporary error, in ms. Default: 500. */
  initialDelay: number;
  /** Upper bound of any retry delay, in ms. Default: 10_000. */
  maxDelay: number;
  /** How much the upper bound grows per failed retry. Default: 2. */
  factor: number;
}

/** The re-subscription defaults: `{ timeout: 10_000, initialDelay: 500, maxDelay: 10_000, factor: 2 }`. */
export const DEFAULT_RESUBSCRIBE_OPTIONS: Readonly<ResubscribeOptions> = Object.freeze({
  timeout: 10_000,
  initialDelay: 500,
  maxDelay: 10_000,
  factor: 2,
});

/**
 * Errors a re-subscription retries (with backoff) instead of ending the subscription: the server is
 * busy, restarting or failing over (`TIMEOUT` is also the client's own request timeout). Every other
 * code (`FORBIDDEN`, `UNAUTHORIZED`, `UNKNOWN_CHANNEL`, `INVALID_CHANNEL`, `BAD_REQUEST`,
 * `TOO_MANY_SUBSCRIPTIONS`, application codes, ...) is a permanent refusal.
 */
const TEMPORARY_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.Unavailable,
  ErrorCode.Timeout,
  ErrorCode.RateLimited,
  ErrorCode.Internal,
  SssClientErrorCode.Timeout,
]);

/** Whether a re-subscription that failed with this error should be tried again. */
export function isTemporaryError(error: SssClientError): boolean {
  return TEMPORARY_CODES.has(error.code);
}

/** What the resubscriber needs from the client. */
export interface ResubscriberHost {
  /**
   * Sends `sub` with `since` = the subscription's position and its query. `subscribed` runs
   * synchronously on the `subbed`, before the next frame (the missed messages) is read; the promise
   * settles after it, or rejects with the failure.
   */
  subscribeFrom(
    subscription: SssSubscription,
    timeout: number,
    subscribed: (reply: SubscribedFrame) => void,
  ): Promise<void>;
  /** Sends `unsub` for the channel without waiting for its answer (the server handles frames in order). */
  sendUnsubscribe(channel: string): void;
  /** The server refused the subscription for good: forget it and end it with `resubscribe_denied`. */
  deny(subscription: SssSubscription, error: SssClientError): void;
  /** Every subscription of a reconnect has a first result (`reconnect` event). */
  reconnected(event: SssReconnectEvent): void;
}

/** A first result, or `null` for a subscription that ended before it had one (it is left out). */
type FirstResult = (result: SssResubscriptionResult | null) => void;

/**
 * Brings subscriptions back on the server: all of them after a reconnect (then reports one
 * `reconnect` with each channel's first result), or one after a sequence gap. Each subscription
 * retries temporary errors with its own jittered backoff until it succeeds or is refused.
 */
export class Resubscriber {
  private readonly jobs = new Map<SssSubscription, ResubscriptionJob>();
  private round = 0;

  /**
   * @param host the client.
   * @param options timeout and retry backoff.
   * @param random a source of numbers in [0, 1) for the jitter; default: `Math.random`.
   */
  constructor(
    readonly host: ResubscriberHost,
    readonly options: ResubscribeOptions,
    readonly random: () => number = Math.random,
  ) {}

  /** Whether a re-subscription of this subscription is under way (sent, or waiting to retry). */
  isPending(subscription: SssSubscription): boolean {
    return this.jobs.has(subscription);
  }

  /**
   * A new connection: re-subscribes every subscription from its position, then reports `reconnected`
   * once each has a first result, in the order given. A subscription that ends first is left out.
   */
  resubscribeAll(subscriptions: SssSubscription[]): void {
    this.stopAll();
    const round = ++this.round;
    const results: (SssResubscriptionResult | null | undefined)[] = subscriptions.map(() => undefined);
    let waiting = subscriptions.length;
    const complete = () => {
      if (round !== this.round) return;
      const reported = results.filter((result): result is SssResubscriptionResult => !!result);
      this.host.reconnected({ recovered: reported.every((result) => result.recovered), subscriptions: reported });
    };
    subscriptions.forEach((subscription, index) => {
      this.start(subscription, false, (result) => {
        results[index] = result;
        waiting -= 1;
        if (waiting === 0) complete();
      });
    });
    // Reported after the `connect` event, as when there are subscriptions to wait for.
    if (subscriptions.length === 0) void Promise.resolve().then(complete);
  }

  /**
   * A sequence gap on the current connection: ends the subscription on the server and subscribes again
   * from its last good position (`unsub` then `sub`; the server handles them in order).
   */
  resync(subscription: SssSubscription): void {
    if (this.jobs.has(subscription)) return;
    this.start(subscription, true, undefined);
  }

  /** The subscription ended: stops re-subscribing it; a pending reconnect report leaves it out. */
  cancel(subscription: SssSubscription): void {
    this.jobs.get(subscription)?.cancel();
  }

  /** The connection is gone: stops every job and forgets the pending report; the next connection starts over. */
  stopAll(): void {
    this.round += 1;
    for (const job of [...this.jobs.values()]) job.stop();
  }

  /** @internal Used by the jobs. */
  finished(job: ResubscriptionJob): void {
    if (this.jobs.get(job.subscription) === job) this.jobs.delete(job.subscription);
  }

  private start(subscription: SssSubscription, unsubscribeFirst: boolean, firstResult: FirstResult | undefined): void {
    this.jobs.get(subscription)?.stop();
    const job = new ResubscriptionJob(this, subscription, unsubscribeFirst, firstResult);
    this.jobs.set(subscription, job);
    job.run();
  }
}

/** One subscription's way back: sends, retries temporary errors after a backoff, reports its first result. */
class ResubscriptionJob {
  private active = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff: ReconnectBackoff;

  constructor(
    private readonly owner: Resubscriber,
    readonly subscription: SssSubscription,
    private unsubscribeFirst: boolean,
    private firstResult: FirstResult | undefined,
  ) {
    this.backoff = new ReconnectBackoff(owner.options, owner.random);
  }

  run(): void {
    this.timer = undefined;
    if (!this.active) return;
    const { host, options } = this.owner;
    if (this.unsubscribeFirst) host.sendUnsubscribe(this.subscription.channel);
    // NOTE: a retry ends the previous attempt first: after a client-side timeout the server may still
    // accept it, and the new `sub` would then get ALREADY_SUBSCRIBED.
    this.unsubscribeFirst = true;
    this.subscription.awaitResubscription();
    host
      .subscribeFrom(this.subscription, options.timeout, (reply) => this.succeeded(reply))
      .catch((error: SssClientError) => this.failed(error));
  }

  /** The subscription ended: stop, and leave it out of a pending reconnect report. */
  cancel(): void {
    this.stop();
    this.report(null);
  }

  stop(): void {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.owner.finished(this);
  }

  private succeeded(reply: SubscribedFrame): void {
    if (!this.active) return;
    this.stop();
    this.subscription.resubscribed(reply);
    const result: SssResubscriptionResult = { channel: this.subscription.channel, recovered: reply.recovered === true };
    if (reply.recovered !== true && reply.reason !== undefined) result.reason = reply.reason;
    this.report(result);
  }

  private failed(error: SssClientError): void {
    // DISCONNECTED or CLOSED: the connection is gone and `stopAll` already ran; the next one starts over.
    if (!this.active) return;
    if (error.code === SssClientErrorCode.Disconnected || error.code === SssClientErrorCode.Closed) {
      this.stop();
      return;
    }
    const channel = this.subscription.channel;
    if (isTemporaryError(error)) {
      this.report({ channel, recovered: false, retrying: true, error });
      this.timer = setTimeout(() => this.run(), this.backoff.next());
      return;
    }
    this.stop();
    this.report({ channel, recovered: false, error });
    this.owner.host.deny(this.subscription, error);
  }

  private report(result: SssResubscriptionResult | null): void {
    const firstResult = this.firstResult;
    this.firstResult = undefined;
    firstResult?.(result);
  }
}
