import { describe, expect, it } from 'vitest';
import { DEFAULT_RECONNECT_OPTIONS, ReconnectBackoff } from '../../../lib/client/reconnect-backoff.js';

const options = { initialDelay: 100, maxDelay: 1000, factor: 2, spreadWindow: 800 };

describe('ReconnectBackoff', () => {
  it('documents the defaults', () => {
    expect(DEFAULT_RECONNECT_OPTIONS).toEqual({ initialDelay: 250, maxDelay: 10_000, factor: 2, spreadWindow: 1000 });
  });

  it('grows the upper bound exponentially up to maxDelay (random just below 1)', () => {
    const backoff = new ReconnectBackoff(options, () => 0.999_999);
    const delays = Array.from({ length: 7 }, () => backoff.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999]);
    expect(backoff.attempts).toBe(7);
  });

  it('applies full jitter: a random of 0 gives 0, a random of 0.5 gives half the bound', () => {
    expect(new ReconnectBackoff(options, () => 0).next()).toBe(0);
    const half = new ReconnectBackoff(options, () => 0.5);
    expect([half.next(), half.next(), half.next()]).toEqual([50, 100, 200]);
  });

  it('keeps every delay within [0, bound) with Math.random', () => {
    const backoff = new ReconnectBackoff(options);
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const bound = Math.min(options.maxDelay, options.initialDelay * options.factor ** attempt);
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(bound);
    }
  });

  it('starts over after reset', () => {
    const backoff = new ReconnectBackoff(options, () => 0.999_999);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(99);
  });

  it('spreads delays over [0, spreadWindow) without growing the backoff', () => {
    const backoff = new ReconnectBackoff(options, () => 0.999_999);
    expect(backoff.spread()).toBe(799);
    expect(backoff.spread()).toBe(799);
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(99);
    const random = new ReconnectBackoff(options);
    const delays = Array.from({ length: 1000 }, () => random.spread());
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(options.spreadWindow);
    }
    // Spread over the whole window, not bunched at its start.
    expect(delays.filter((delay) => delay >= options.spreadWindow / 2).length).toBeGreaterThan(300);
  });

  it('caps the spread window by maxDelay', () => {
    const backoff = new ReconnectBackoff({ ...options, maxDelay: 300, spreadWindow: 1000 }, () => 0.999_999);
    expect(backoff.spread()).toBe(299);
  });
});
