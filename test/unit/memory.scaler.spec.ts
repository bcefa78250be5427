import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryScaler } from '../../lib/scaler/memory.scaler.js';
import type { ScalerListener } from '../../lib/scaler/scaler.interface.js';

function scalerWith(retention = { maxMessages: 5, maxAgeMs: 60_000 }) {
  const scaler = new MemoryScaler(retention);
  const listener = { onMessage: vi.fn(), onSignal: vi.fn(), onPresence: vi.fn() } satisfies ScalerListener;
  return { scaler, listener, connected: scaler.connect(listener) };
}

describe('MemoryScaler', () => {
  afterEach(() => vi.useRealTimers());

  it('numbers each channel from 1 without gaps, independently', async () => {
    const { scaler } = scalerWith();
    const a1 = await scaler.publish('a', 't', 1);
    const a2 = await scaler.publish('a', 't', 2);
    const b1 = await scaler.publish('b', 't', 1);
    expect([a1.seq, a2.seq, b1.seq]).toEqual([1, 2, 1]);
    expect(a1.epoch).toBe(a2.epoch);
    expect(await scaler.position('a')).toEqual({ epoch: a1.epoch, seq: 2 });
    expect(await scaler.position('never')).toMatchObject({ seq: 0 });
  });

  it('forgets a channel with nothing retained and no subscriber, starting a new epoch if it returns', async () => {
    vi.useFakeTimers();
    const { scaler } = scalerWith({ maxMessages: 5, maxAgeMs: 10_000 });
    const first = await scaler.publish('idle', 't', 1);
    await scaler.subscribe('kept');
    const kept = await scaler.position('kept');
    vi.advanceTimersByTime(12_000);
    const again = await scaler.publish('idle', 't', 2);
    expect(again.seq).toBe(1);
    expect(again.epoch).not.toBe(first.epoch);
    expect(await scaler.historySince('idle', first)).toMatchObject({ recovered: false, reason: 'epoch_changed' });
    expect(await scaler.position('kept')).toEqual(kept);
    await scaler.close();
  });

  it('fans out only channels this instance subscribed to', async () => {
    const { scaler, listener } = scalerWith();
    await scaler.publish('quiet', 't', 0);
    await scaler.subscribe('loud');
    await scaler.publish('loud', 't', 1, { exceptSocketId: 's1' });
    expect(listener.onMessage).toHaveBeenCalledTimes(1);
    expect(listener.onMessage.mock.calls[0][0]).toMatchObject({ channel: 'loud', seq: 1, exceptSocketId: 's1' });
    await scaler.unsubscribe('loud');
    await scaler.publish('loud', 't', 2);
    expect(listener.onMessage).toHaveBeenCalledTimes(1);
  });

  it('returns history after a position, and says why it cannot', async () => {
    const { scaler } = scalerWith();
    for (let i = 1; i <= 8; i++) await scaler.publish('c', 't', i);
    const { epoch } = await scaler.position('c');
    const recent = await scaler.historySince('c', { epoch, seq: 5 });
    expect(recent.recovered && recent.messages.map((m) => m.seq)).toEqual([6, 7, 8]);
    const edge = await scaler.historySince('c', { epoch, seq: 3 });
    expect(edge.recovered && edge.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(await scaler.historySince('c', { epoch, seq: 2 })).toMatchObject({
      recovered: false,
      reason: 'out_of_retention',
    });
    expect(await scaler.historySince('c', { epoch, seq: 8 })).toEqual({ recovered: true, epoch, messages: [] });
    expect(await scaler.historySince('c', { epoch, seq: 9 })).toMatchObject({
      recovered: false,
      reason: 'invalid_position',
    });
    expect(await scaler.historySince('c', { epoch: 'old', seq: 1 })).toMatchObject({
      recovered: false,
      reason: 'epoch_changed',
      position: { epoch, seq: 8 },
    });
  });

  it('drops messages older than maxAgeMs', async () => {
    vi.useFakeTimers();
    const { scaler } = scalerWith({ maxMessages: 100, maxAgeMs: 1_000 });
    await scaler.publish('d', 't', 1);
    vi.advanceTimersByTime(1_500);
    await scaler.publish('d', 't', 2);
    const { epoch } = await scaler.position('d');
    expect(await scaler.historySince('d', { epoch, seq: 0 })).toMatchObject({
      recovered: false,
      reason: 'out_of_retention',
    });
    const fresh = await scaler.historySince('d', { epoch, seq: 1 });
    expect(fresh.recovered && fresh.messages.map((m) => m.data)).toEqual([2]);
  });

  it('passes signals to the listener', async () => {
    const { scaler, listener } = scalerWith();
    await scaler.signal({ kind: 'tell', target: { type: 'all' }, topic: 'x', data: 1 });
    expect(listener.onSignal).toHaveBeenCalledWith({ kind: 'tell', target: { type: 'all' }, topic: 'x', data: 1 });
  });
});
