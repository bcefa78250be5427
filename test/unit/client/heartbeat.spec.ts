import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../../../lib/client/heartbeat.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function create(grace = 100) {
  const ping = vi.fn();
  const dead = vi.fn();
  return { heartbeat: new Heartbeat({ ping, dead }, grace), ping, dead };
}

describe('Heartbeat', () => {
  it('pings once the client has sent nothing for an interval, checking every half interval', () => {
    const { heartbeat, ping } = create();
    heartbeat.start(1000);
    vi.advanceTimersByTime(500);
    expect(ping).not.toHaveBeenCalled();
    heartbeat.received();
    vi.advanceTimersByTime(500);
    expect(ping).toHaveBeenCalledTimes(1);
  });

  it('does not ping while the client keeps sending', () => {
    const { heartbeat, ping } = create();
    heartbeat.start(1000);
    for (let step = 0; step < 10; step += 1) {
      vi.advanceTimersByTime(400);
      heartbeat.sent();
      heartbeat.received();
    }
    expect(ping).not.toHaveBeenCalled();
  });

  it('declares the connection dead after 2 intervals plus the grace without a frame, and stops', () => {
    const { heartbeat, dead } = create(100);
    heartbeat.start(1000);
    vi.advanceTimersByTime(2000);
    expect(dead).not.toHaveBeenCalled();
    // The check after 2100 ms of silence runs at 2500 ms.
    vi.advanceTimersByTime(500);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(heartbeat.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps a connection that keeps receiving', () => {
    const { heartbeat, dead, ping } = create();
    heartbeat.start(1000);
    for (let step = 0; step < 20; step += 1) {
      vi.advanceTimersByTime(900);
      heartbeat.received();
    }
    expect(dead).not.toHaveBeenCalled();
    expect(ping.mock.calls.length).toBeGreaterThan(0);
  });

  it('stop and a restart leave exactly one timer, and a non-positive interval none', () => {
    const { heartbeat } = create();
    heartbeat.start(1000);
    heartbeat.start(500);
    expect(vi.getTimerCount()).toBe(1);
    heartbeat.stop();
    expect(vi.getTimerCount()).toBe(0);
    heartbeat.start(0);
    expect(heartbeat.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
