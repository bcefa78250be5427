import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingRequests } from '../../../lib/client/pending-requests.js';
import { SssClientError } from '../../../lib/client/sss-client.error.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function create() {
  const sent: unknown[] = [];
  const pending = new PendingRequests((payload) => sent.push(JSON.parse(payload)));
  return { pending, sent };
}

const ask = (topic: string) => (id: number) => ({ t: 'ask' as const, id, topic });
const data = (reply: { t: string; data?: unknown }) => reply.data;

describe('PendingRequests', () => {
  it('sends at once when connected, with increasing ids, and settles each by its id', async () => {
    const { pending, sent } = create();
    const first = pending.add(ask('a'), 1000, data, true);
    const second = pending.add(ask('b'), 1000, data, true);
    expect(sent).toEqual([
      { t: 'ask', id: 1, topic: 'a' },
      { t: 'ask', id: 2, topic: 'b' },
    ]);
    expect(pending.settle({ t: 'res', id: 2, data: 'B' })).toBe(true);
    expect(pending.settle({ t: 'res', id: 1, data: 'A' })).toBe(true);
    await expect(Promise.all([first, second])).resolves.toEqual(['A', 'B']);
    expect(pending.settle({ t: 'res', id: 1, data: 'again' })).toBe(false);
    expect(pending.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('holds requests made while disconnected until sendQueued, the timeout running meanwhile', async () => {
    const { pending, sent } = create();
    const queued = pending.add(ask('later'), 1000, data, false);
    const expired = pending.add(ask('expired'), 100, data, false).catch((error: unknown) => error);
    // A queued request takes no answer: the server never saw it.
    expect(pending.settle({ t: 'res', id: 1 })).toBe(false);
    vi.advanceTimersByTime(100);
    await expect(expired).resolves.toMatchObject({ code: 'TIMEOUT' });
    pending.sendQueued();
    expect(sent).toEqual([{ t: 'ask', id: 1, topic: 'later' }]);
    pending.settle({ t: 'res', id: 1, data: 'ok' });
    await expect(queued).resolves.toBe('ok');
  });

  it('rejects with TIMEOUT after the timeout, and Infinity waits without a timer', async () => {
    const { pending } = create();
    const timed = pending.add(ask('slow'), 500, data, true).catch((error: unknown) => error);
    pending.add(ask('forever'), Infinity, data, true).catch(() => undefined);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(499);
    expect(pending.size).toBe(2);
    vi.advanceTimersByTime(1);
    await expect(timed).resolves.toMatchObject({ code: 'TIMEOUT', details: { id: 1 } });
    expect(pending.size).toBe(1);
  });

  it('serves every timeout with one timer, the shortest first, whatever the order they came in', async () => {
    const { pending } = create();
    const long = pending.add(ask('long'), 1000, data, true).catch((error: unknown) => error);
    const short = pending.add(ask('short'), 100, data, true).catch((error: unknown) => error);
    const answered = pending.add(ask('answered'), 50, data, true);
    expect(vi.getTimerCount()).toBe(1);
    pending.settle({ t: 'res', id: 3, data: 'in time' });
    await expect(answered).resolves.toBe('in time');
    vi.advanceTimersByTime(99);
    expect(pending.size).toBe(2);
    vi.advanceTimersByTime(1);
    await expect(short).resolves.toMatchObject({ code: 'TIMEOUT', details: { id: 2 } });
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(899);
    expect(pending.size).toBe(1);
    vi.advanceTimersByTime(1);
    await expect(long).resolves.toMatchObject({ code: 'TIMEOUT', message: 'No answer within 1000 ms' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails a sent request on its err, and on a drop fails the sent ones only', async () => {
    const { pending } = create();
    const refused = pending.add(ask('secret'), 1000, data, true);
    const inFlight = pending.add(ask('in flight'), 1000, data, true);
    const queued = pending.add(ask('queued'), 1000, data, false);
    expect(pending.fail(1, new SssClientError('FORBIDDEN', 'No'))).toBe(true);
    await expect(refused).rejects.toMatchObject({ code: 'FORBIDDEN' });
    pending.failSent(new SssClientError('DISCONNECTED', 'gone'));
    await expect(inFlight).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(pending.size).toBe(1);
    pending.failAll(new SssClientError('CLOSED', 'closed'));
    await expect(queued).rejects.toMatchObject({ code: 'CLOSED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects a frame that is not serialisable with BAD_FRAME and sends nothing', async () => {
    const { pending, sent } = create();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(
      pending.add((id) => ({ t: 'ask', id, topic: 'x', data: cyclic }), 1000, data, true),
    ).rejects.toMatchObject({ code: 'BAD_FRAME' });
    expect(sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects when accept throws, and runs accept synchronously on the reply', async () => {
    const { pending } = create();
    const order: string[] = [];
    const request = pending.add(
      ask('x'),
      1000,
      () => {
        order.push('accept');
        throw new SssClientError('BAD_FRAME', 'unexpected reply');
      },
      true,
    );
    pending.settle({ t: 'ack', id: 1 });
    order.push('after settle');
    await expect(request).rejects.toMatchObject({ code: 'BAD_FRAME' });
    expect(order).toEqual(['accept', 'after settle']);
  });

  it('hands out ids for frames nobody waits for without reusing them', () => {
    const { pending } = create();
    pending.add(ask('a'), 1000, data, true).catch(() => undefined);
    expect(pending.takeId()).toBe(2);
    pending.add(ask('b'), 1000, data, true).catch(() => undefined);
    expect(pending.takeId()).toBe(4);
    pending.failAll(new SssClientError('CLOSED', 'closed'));
  });
});
