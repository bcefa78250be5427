import { describe, expect, it } from 'vitest';
import type { PresenceEvent } from '../../lib/index.js';
import { PresenceBook } from '../../lib/scaler/presence/presence-book.js';

describe('PresenceBook', () => {
  it("fires join on a user's first connection and leave on its last, counting connections", () => {
    const events: PresenceEvent[] = [];
    const book = new PresenceBook((event) => events.push(event));
    book.join('room', { connectionId: 'a', userId: 'ann', info: { name: 'Ann' } });
    book.join('room', { connectionId: 'b', userId: 'ann' });
    book.join('room', { connectionId: 'b', userId: 'ann' });
    book.join('room', { connectionId: 'c', userId: 'bob' });
    expect(book.members('room')).toEqual([
      { userId: 'ann', connections: 2, info: { name: 'Ann' } },
      { userId: 'bob', connections: 1 },
    ]);
    book.leave('room', 'a');
    book.leave('room', 'unknown');
    book.leave('elsewhere', 'b');
    expect(events.map((event) => `${event.kind}:${event.userId}`)).toEqual(['join:ann', 'join:bob']);
    book.leave('room', 'b');
    expect(events.at(-1)).toEqual({ channel: 'room', kind: 'leave', userId: 'ann', info: { name: 'Ann' } });
    expect(book.members('room')).toEqual([{ userId: 'bob', connections: 1 }]);
  });

  it('removes the connections of a dead process with leave events', () => {
    const events: string[] = [];
    const book = new PresenceBook((event) => events.push(`${event.kind}:${event.userId}:${event.channel}`));
    book.join('x', { connectionId: 'w1:a', userId: 'ann' });
    book.join('x', { connectionId: 'w2:b', userId: 'ann' });
    book.join('y', { connectionId: 'w1:c', userId: 'bob' });
    book.leaveWhere((id) => id.startsWith('w1:'));
    expect(events).toEqual(['join:ann:x', 'join:bob:y', 'leave:bob:y']);
    expect(book.members('x')).toEqual([{ userId: 'ann', connections: 1 }]);
    expect(book.members('y')).toEqual([]);
  });
});
