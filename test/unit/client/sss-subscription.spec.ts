import { describe, expect, it, vi } from 'vitest';
import { SssClientError } from '../../../lib/client/sss-client.error.js';
import { SssSubscription, type SssSubscriptionHost } from '../../../lib/client/sss-subscription.js';
import type { MessageFrame } from '../../../lib/protocol/frames.js';

function create(): {
  subscription: SssSubscription<{ title: string }>;
  errors: SssClientError[];
  resyncs: SssSubscription[];
} {
  const errors: SssClientError[] = [];
  const resyncs: SssSubscription[] = [];
  const host: SssSubscriptionHost = {
    unsubscribe: () => Promise.resolve(),
    reportError: (error) => errors.push(error),
    resync: (subscription) => {
      resyncs.push(subscription);
      subscription.awaitResubscription();
    },
    presence: () => Promise.resolve([]),
  };
  const subscription = new SssSubscription<{ title: string }>(
    host,
    { t: 'subbed', id: 1, channel: 'room/1', epoch: 'e1', seq: 4, data: { title: 'Room' } },
    { role: 'guest' },
  );
  return { subscription, errors, resyncs };
}

const message = (seq: number, epoch = 'e1', topic = 'chat'): MessageFrame => ({
  t: 'msg',
  channel: 'room/1',
  topic,
  data: { seq },
  seq,
  epoch,
});

describe('SssSubscription', () => {
  it('exposes the subbed data, query and position', () => {
    const { subscription } = create();
    expect(subscription.channel).toBe('room/1');
    expect(subscription.data).toEqual({ title: 'Room' });
    expect(subscription.query).toEqual({ role: 'guest' });
    expect(subscription.position).toEqual({ epoch: 'e1', seq: 4 });
  });

  it('delivers in order, drops duplicates and old messages, and moves the position', () => {
    const { subscription, errors } = create();
    const seen: number[] = [];
    subscription.on<{ seq: number }>('chat', (data, meta) => {
      expect(meta).toEqual({ channel: 'room/1', topic: 'chat', seq: data.seq, epoch: 'e1' });
      seen.push(data.seq);
    });
    for (const seq of [5, 5, 3, 6, 4, 7]) subscription.receive(message(seq));
    expect(seen).toEqual([5, 6, 7]);
    expect(subscription.position).toEqual({ epoch: 'e1', seq: 7 });
    expect(errors).toEqual([]);
  });

  it('on a gap, reports SEQUENCE_GAP, asks for a resync and drops frames until it is resubscribed', () => {
    const { subscription, errors, resyncs } = create();
    const seen: number[] = [];
    subscription.onAny((_topic, _data, meta) => seen.push(meta.seq));
    subscription.receive(message(7));
    subscription.receive(message(8));
    expect(seen).toEqual([]);
    expect(resyncs).toEqual([subscription]);
    expect(subscription.position).toEqual({ epoch: 'e1', seq: 4 });
    expect(errors.map((error) => error.code)).toEqual(['SEQUENCE_GAP']);
    expect(errors[0]!.details).toMatchObject({ expected: { seq: 5 }, received: { seq: 7 } });

    subscription.resubscribed({ t: 'subbed', id: 2, channel: 'room/1', epoch: 'e1', seq: 4, recovered: true });
    for (const seq of [5, 6, 7, 8]) subscription.receive(message(seq));
    expect(seen).toEqual([5, 6, 7, 8]);
  });

  it('treats another epoch without a re-subscription as a gap', () => {
    const { subscription, errors, resyncs } = create();
    const seen: number[] = [];
    subscription.onAny((_topic, _data, meta) => seen.push(meta.seq));
    subscription.receive(message(5, 'e2'));
    expect(seen).toEqual([]);
    expect(resyncs).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'SEQUENCE_GAP' });
  });

  it('moves the position on skip without delivering', () => {
    const { subscription } = create();
    const seen: number[] = [];
    subscription.onAny((_topic, _data, meta) => seen.push(meta.seq));
    subscription.receive({ t: 'skip', channel: 'room/1', seq: 5, epoch: 'e1' });
    subscription.receive(message(6));
    expect(seen).toEqual([6]);
    expect(subscription.position).toEqual({ epoch: 'e1', seq: 6 });
  });

  it('holds messages until the next task so listeners attached after subscribe() see them', async () => {
    const { subscription } = create();
    subscription.holdUntilNextTask();
    subscription.receive(message(5));
    const seen: number[] = [];
    subscription.on('chat', (_data, meta) => seen.push(meta.seq));
    expect(seen).toEqual([]);
    expect(subscription.position.seq).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(seen).toEqual([5]);
  });

  it('keeps its position on a recovered re-subscription and jumps on an unrecovered one', () => {
    const { subscription } = create();
    const events = vi.fn();
    subscription.onEvent('resubscribed', events);
    subscription.resubscribed({ t: 'subbed', id: 2, channel: 'room/1', epoch: 'e1', seq: 4, recovered: true });
    expect(subscription.position).toEqual({ epoch: 'e1', seq: 4 });
    subscription.resubscribed({
      t: 'subbed',
      id: 3,
      channel: 'room/1',
      epoch: 'e2',
      seq: 10,
      recovered: false,
      reason: 'epoch_changed',
      data: { title: 'New' },
    });
    expect(subscription.position).toEqual({ epoch: 'e2', seq: 10 });
    expect(subscription.data).toEqual({ title: 'New' });
    expect(events.mock.calls).toEqual([[{ recovered: true }], [{ recovered: false, reason: 'epoch_changed' }]]);
  });

  it('reports throwing listeners as LISTENER_ERROR', () => {
    const { subscription, errors } = create();
    const after = vi.fn();
    subscription.on('chat', () => {
      throw new Error('app bug');
    });
    subscription.on('chat', after);
    subscription.receive(message(5));
    expect(after).toHaveBeenCalledOnce();
    expect(errors[0]).toMatchObject({ code: 'LISTENER_ERROR' });
    expect((errors[0]!.cause as Error).message).toBe('app bug');
  });

  it('closes once, flushing held messages first, and ignores later messages', () => {
    const { subscription } = create();
    subscription.holdUntilNextTask();
    subscription.receive(message(5));
    const order: string[] = [];
    subscription.on('chat', (_data, meta) => order.push(`msg ${meta.seq}`));
    subscription.onEvent('closed', ({ reason }) => order.push(`closed ${reason}`));
    subscription.end({ reason: 'booted' });
    subscription.end({ reason: 'again' });
    subscription.receive(message(6));
    expect(order).toEqual(['msg 5', 'closed booted']);
    expect(subscription.closed).toBe(true);
  });
});
