import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_RESUBSCRIBE_OPTIONS,
  Resubscriber,
  isTemporaryError,
  type ResubscriberHost,
} from '../../../lib/client/resubscriber.js';
import type { SssReconnectEvent, SssResubscribedEvent } from '../../../lib/client/sss-client-events.interface.js';
import { SssClientError } from '../../../lib/client/sss-client.error.js';
import { SssSubscription } from '../../../lib/client/sss-subscription.js';
import type { SubscribedFrame } from '../../../lib/protocol/frames.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

interface SentSubscribe {
  channel: string;
  since: { epoch: string; seq: number };
  timeout: number;
  answer(reply: Partial<SubscribedFrame>): void;
  fail(code: string): void;
}

/** A host that records what the resubscriber sends and lets the test answer each `sub`. */
function createHost() {
  const wire: string[] = [];
  const subscribes: SentSubscribe[] = [];
  const reconnects: SssReconnectEvent[] = [];
  const denied: [string, string][] = [];
  const host: ResubscriberHost = {
    subscribeFrom: (subscription, timeout, subscribed) =>
      new Promise<void>((resolve, reject) => {
        wire.push(`sub ${subscription.channel}`);
        const since = subscription.position;
        subscribes.push({
          channel: subscription.channel,
          since,
          timeout,
          answer: (reply) => {
            subscribed({ t: 'subbed', id: 0, channel: subscription.channel, ...since, ...reply });
            resolve();
          },
          fail: (code) => reject(new SssClientError(code, code)),
        });
      }),
    sendUnsubscribe: (channel) => wire.push(`unsub ${channel}`),
    deny: (subscription, error) => {
      denied.push([subscription.channel, error.code]);
      subscription.end({ reason: 'resubscribe_denied', error });
    },
    reconnected: (event) => reconnects.push(event),
  };
  return { host, wire, subscribes, reconnects, denied };
}

function subscription(channel: string, seq = 3): { subscription: SssSubscription; events: SssResubscribedEvent[] } {
  const created = new SssSubscription(
    {
      unsubscribe: () => Promise.resolve(),
      reportError: () => undefined,
      resync: () => undefined,
      presence: () => Promise.resolve([]),
    },
    { t: 'subbed', id: 1, channel, epoch: 'e1', seq },
    undefined,
  );
  const events: SssResubscribedEvent[] = [];
  created.onEvent('resubscribed', (event) => events.push(event));
  return { subscription: created, events };
}

const options = { ...DEFAULT_RESUBSCRIBE_OPTIONS, initialDelay: 1000, maxDelay: 8000 };

describe('Resubscriber after a reconnect', () => {
  it('reports reconnected once every subscription has a result, in subscription order', async () => {
    const { host, subscribes, reconnects, wire } = createHost();
    const resubscriber = new Resubscriber(host, options);
    const a = subscription('a');
    const b = subscription('b', 7);
    resubscriber.resubscribeAll([a.subscription, b.subscription]);
    // A fresh connection holds no subscription: no unsub first.
    expect(wire).toEqual(['sub a', 'sub b']);
    expect(subscribes.map((sent) => [sent.since, sent.timeout])).toEqual([
      [{ epoch: 'e1', seq: 3 }, 10_000],
      [{ epoch: 'e1', seq: 7 }, 10_000],
    ]);
    subscribes[1]!.answer({ recovered: false, reason: 'out_of_retention', seq: 20 });
    await vi.advanceTimersByTimeAsync(0);
    expect(reconnects).toEqual([]);
    subscribes[0]!.answer({ recovered: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(reconnects).toEqual([
      {
        recovered: false,
        subscriptions: [
          { channel: 'a', recovered: true },
          { channel: 'b', recovered: false, reason: 'out_of_retention' },
        ],
      },
    ]);
    expect(b.subscription.position).toEqual({ epoch: 'e1', seq: 20 });
    expect(a.events).toEqual([{ recovered: true }]);
    expect(resubscriber.isPending(a.subscription)).toBe(false);
  });

  it('reports reconnected with no subscriptions', async () => {
    const { host, reconnects } = createHost();
    new Resubscriber(host, options).resubscribeAll([]);
    expect(reconnects).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(reconnects).toEqual([{ recovered: true, subscriptions: [] }]);
  });

  it('retries a temporary error with jittered backoff, reporting it as retrying first', async () => {
    const { host, subscribes, reconnects, wire } = createHost();
    const resubscriber = new Resubscriber(host, options, () => 0.5);
    const a = subscription('a');
    resubscriber.resubscribeAll([a.subscription]);
    subscribes[0]!.fail('UNAVAILABLE');
    await vi.advanceTimersByTimeAsync(0);
    expect(reconnects).toMatchObject([
      {
        recovered: false,
        subscriptions: [{ channel: 'a', recovered: false, retrying: true, error: { code: 'UNAVAILABLE' } }],
      },
    ]);
    expect(resubscriber.isPending(a.subscription)).toBe(true);
    // Attempt 1 waits 0.5 × 1000 ms, attempt 2 waits 0.5 × 2000 ms.
    await vi.advanceTimersByTimeAsync(499);
    expect(subscribes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(wire).toEqual(['sub a', 'unsub a', 'sub a']);
    subscribes[1]!.fail('TIMEOUT');
    await vi.advanceTimersByTimeAsync(999);
    expect(subscribes).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    subscribes[2]!.answer({ recovered: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(a.events).toEqual([{ recovered: true }]);
    expect(reconnects).toHaveLength(1);
    expect(a.subscription.closed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends a subscription on a permanent refusal', async () => {
    const { host, subscribes, reconnects, denied } = createHost();
    const resubscriber = new Resubscriber(host, options);
    const a = subscription('a');
    resubscriber.resubscribeAll([a.subscription]);
    subscribes[0]!.fail('FORBIDDEN');
    await vi.advanceTimersByTimeAsync(0);
    expect(denied).toEqual([['a', 'FORBIDDEN']]);
    expect(reconnects).toMatchObject([
      { recovered: false, subscriptions: [{ channel: 'a', error: { code: 'FORBIDDEN' } }] },
    ]);
    expect(reconnects[0]!.subscriptions[0]!.retrying).toBeUndefined();
    expect(a.subscription.closed).toBe(true);
  });

  it('leaves out a subscription cancelled before its first result, and ignores its late answer', async () => {
    const { host, subscribes, reconnects } = createHost();
    const resubscriber = new Resubscriber(host, options);
    const a = subscription('a');
    const b = subscription('b');
    resubscriber.resubscribeAll([a.subscription, b.subscription]);
    subscribes[1]!.answer({ recovered: true });
    resubscriber.cancel(a.subscription);
    await vi.advanceTimersByTimeAsync(0);
    expect(reconnects).toEqual([{ recovered: true, subscriptions: [{ channel: 'b', recovered: true }] }]);
    subscribes[0]!.fail('CANCELLED');
    await vi.advanceTimersByTimeAsync(0);
    expect(a.events).toEqual([]);
    expect(reconnects).toHaveLength(1);
  });

  it('stops everything when the connection is gone: no report, no retry timer', async () => {
    const { host, subscribes, reconnects } = createHost();
    const resubscriber = new Resubscriber(host, options);
    const a = subscription('a');
    const b = subscription('b');
    resubscriber.resubscribeAll([a.subscription, b.subscription]);
    subscribes[0]!.fail('UNAVAILABLE');
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    reconnects.length = 0;
    resubscriber.stopAll();
    subscribes[1]!.fail('DISCONNECTED');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(subscribes).toHaveLength(2);
    expect(reconnects).toEqual([]);
    expect(resubscriber.isPending(a.subscription)).toBe(false);
  });
});

describe('Resubscriber after a sequence gap', () => {
  it('ends the subscription on the server, then subscribes again from its position', async () => {
    const { host, subscribes, wire, reconnects } = createHost();
    const resubscriber = new Resubscriber(host, options);
    const a = subscription('a', 5);
    resubscriber.resync(a.subscription);
    resubscriber.resync(a.subscription);
    expect(wire).toEqual(['unsub a', 'sub a']);
    expect(subscribes[0]!.since).toEqual({ epoch: 'e1', seq: 5 });
    subscribes[0]!.answer({ recovered: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(a.events).toEqual([{ recovered: true }]);
    expect(reconnects).toEqual([]);
  });
});

describe('isTemporaryError', () => {
  it('retries busy or failing servers and timeouts, not refusals', () => {
    const temporary = ['UNAVAILABLE', 'TIMEOUT', 'RATE_LIMITED', 'INTERNAL_ERROR'];
    const permanent = [
      'FORBIDDEN',
      'UNAUTHORIZED',
      'UNKNOWN_CHANNEL',
      'INVALID_CHANNEL',
      'BAD_REQUEST',
      'TOO_MANY_SUBSCRIPTIONS',
      'CANCELLED',
      'MY_APP_CODE',
    ];
    expect(temporary.filter((code) => isTemporaryError(new SssClientError(code, code)))).toEqual(temporary);
    expect(permanent.filter((code) => isTemporaryError(new SssClientError(code, code)))).toEqual([]);
  });
});
