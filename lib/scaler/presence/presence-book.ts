import type { PresenceConnection, PresenceEvent, PresenceMember } from '../scaler.interface.js';

interface UserEntry {
  connections: number;
  info?: Record<string, unknown>;
}

interface ChannelBook {
  /** connectionId → userId */
  readonly connections: Map<string, string>;
  readonly users: Map<string, UserEntry>;
}

/**
 * Presence kept in one process's memory: who is on which channel, counting each user once. It
 * reports the join and leave transitions (a user's 0→1 and 1→0 connections on a channel) to
 * `onEvent`. The embedded scaler uses it as is; a broker process can keep one for its workers.
 */
export class PresenceBook {
  private readonly channels = new Map<string, ChannelBook>();

  constructor(private readonly onEvent: (event: PresenceEvent) => void) {}

  join(channel: string, connection: PresenceConnection): void {
    let book = this.channels.get(channel);
    if (!book) {
      book = { connections: new Map(), users: new Map() };
      this.channels.set(channel, book);
    }
    if (book.connections.has(connection.connectionId)) return;
    book.connections.set(connection.connectionId, connection.userId);
    const user = book.users.get(connection.userId);
    if (user) {
      user.connections++;
      if (connection.info !== undefined) user.info = connection.info;
      return;
    }
    book.users.set(connection.userId, { connections: 1, info: connection.info });
    this.onEvent(eventOf(channel, 'join', connection.userId, connection.info));
  }

  leave(channel: string, connectionId: string): void {
    const book = this.channels.get(channel);
    const userId = book?.connections.get(connectionId);
    if (!book || userId === undefined) return;
    book.connections.delete(connectionId);
    const user = book.users.get(userId)!;
    if (--user.connections > 0) return;
    book.users.delete(userId);
    if (book.connections.size === 0) this.channels.delete(channel);
    this.onEvent(eventOf(channel, 'leave', userId, user.info));
  }

  members(channel: string): PresenceMember[] {
    const book = this.channels.get(channel);
    if (!book) return [];
    const members: PresenceMember[] = [];
    for (const [userId, user] of book.users) {
      const member: PresenceMember = { userId, connections: user.connections };
      if (user.info !== undefined) member.info = user.info;
      members.push(member);
    }
    return members;
  }

  /** Removes every connection whose id `matches` (those of a process that died), with leave events. */
  leaveWhere(matches: (connectionId: string) => boolean): void {
    for (const [channel, book] of [...this.channels]) {
      for (const connectionId of [...book.connections.keys()]) {
        if (matches(connectionId)) this.leave(channel, connectionId);
      }
    }
  }

  clear(): void {
    this.channels.clear();
  }
}

function eventOf(
  channel: string,
  kind: 'join' | 'leave',
  userId: string,
  info: Record<string, unknown> | undefined,
): PresenceEvent {
  const event: PresenceEvent = { channel, kind, userId };
  if (info !== undefined) event.info = info;
  return event;
}
