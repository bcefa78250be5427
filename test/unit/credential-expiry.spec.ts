import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CredentialExpiry } from '../../lib/credentials/credential-expiry.js';

describe('CredentialExpiry', () => {
  const events: string[] = [];
  const handlers = {
    refreshDue: (expiresIn: number) => events.push(`refresh:${expiresIn}`),
    expired: () => events.push(`expired@${Date.now()}`),
  };

  beforeEach(() => {
    events.length = 0;
    vi.useFakeTimers({ now: 1_000_000 });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks for a refresh lead time before the expiry, and expires after the grace period', () => {
    const expiry = new CredentialExpiry(handlers, 1_000, 500);
    expiry.set(1_000_000 + 5_000);
    vi.advanceTimersByTime(3_999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['refresh:1000']);
    vi.advanceTimersByTime(1_499);
    expect(events).toEqual(['refresh:1000']);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['refresh:1000', 'expired@1005500']);
  });

  it('asks at once when the expiry is closer than the lead time (or past)', () => {
    const expiry = new CredentialExpiry(handlers, 30_000, 0);
    expiry.set(1_000_000 - 10);
    expect(events).toEqual([]);
    // Both are due: each runs on a later turn of the timers, not synchronously within set().
    vi.advanceTimersByTime(2);
    expect(events).toEqual(['refresh:-10', 'expired@1000001']);
  });

  it('starts over on a new expiry (a refresh), and stops when told', () => {
    const expiry = new CredentialExpiry(handlers, 1_000, 500);
    expiry.set(1_002_000);
    vi.advanceTimersByTime(1_000);
    expect(events).toEqual(['refresh:1000']);
    expiry.set(1_010_000);
    expect(expiry.expiresAt).toBe(1_010_000);
    vi.advanceTimersByTime(5_000);
    expect(events).toEqual(['refresh:1000']);
    vi.advanceTimersByTime(3_000);
    expect(events).toEqual(['refresh:1000', 'refresh:1000']);
    expiry.stop();
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual(['refresh:1000', 'refresh:1000']);
  });

  it('never expires without an expiry', () => {
    const expiry = new CredentialExpiry(handlers, 1_000, 500);
    expiry.set(1_002_000);
    expiry.set(undefined);
    vi.advanceTimersByTime(10 * 86_400_000);
    expect(events).toEqual([]);
    expect(expiry.expiresAt).toBeUndefined();
  });

  it('waits in steps beyond what setTimeout allows (a token valid for 60 days)', () => {
    const expiry = new CredentialExpiry(handlers, 1_000, 0);
    const sixtyDays = 60 * 86_400_000;
    expiry.set(1_000_000 + sixtyDays);
    vi.advanceTimersByTime(sixtyDays - 1_001);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['refresh:1000']);
  });

  it('after a refresh, asks again for a credential that still expires soon only when half its life passed', () => {
    const expiry = new CredentialExpiry(handlers, 30_000, 1_000);
    // The refreshed credential (the same token again) expires in 8 s, well within the 30 s lead time.
    expiry.set(1_000_000 + 8_000, true);
    vi.advanceTimersByTime(3_999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['refresh:4000']);
    // Refreshed again with the same expiry: half of the 4 s left.
    expiry.set(1_000_000 + 8_000, true);
    vi.advanceTimersByTime(2_000);
    expect(events).toEqual(['refresh:4000', 'refresh:2000']);
    vi.advanceTimersByTime(3_000);
    expect(events).toEqual(['refresh:4000', 'refresh:2000', 'expired@1009000']);
  });

  it('after a refresh, does not ask again for a credential with under two seconds (or nothing) left', () => {
    const expiry = new CredentialExpiry(handlers, 30_000, 1_000);
    expiry.set(1_000_000 + 1_500, true);
    vi.advanceTimersByTime(2_499);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['expired@1002500']);
    events.length = 0;
    // A guard that accepted a credential that had already expired: closed after the grace period.
    expiry.set(Date.now() - 10, true);
    vi.advanceTimersByTime(990);
    expect(events).toEqual(['expired@1003490']);
  });
});
