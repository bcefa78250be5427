import { Injectable } from '@nestjs/common';
import type { SignalTarget } from '../scaler/scaler.interface.js';
import type { SssSocket } from './sss-socket.js';

/** The sockets connected to this instance, indexed by id, user and session. */
@Injectable()
export class SocketRegistry {
  private readonly byId = new Map<string, SssSocket>();
  private readonly byUser = new Map<string, Set<SssSocket>>();
  private readonly bySession = new Map<string, Set<SssSocket>>();

  get size(): number {
    return this.byId.size;
  }

  add(socket: SssSocket): void {
    this.byId.set(socket.id, socket);
    if (socket.userId !== undefined) addToIndex(this.byUser, socket.userId, socket);
    if (socket.sessionId !== undefined) addToIndex(this.bySession, socket.sessionId, socket);
  }

  remove(socket: SssSocket): void {
    this.byId.delete(socket.id);
    if (socket.userId !== undefined) removeFromIndex(this.byUser, socket.userId, socket);
    if (socket.sessionId !== undefined) removeFromIndex(this.bySession, socket.sessionId, socket);
  }

  all(): IterableIterator<SssSocket> {
    return this.byId.values();
  }

  /** The sockets of this instance that a signal target names (channels excepted). */
  find(target: SignalTarget): Iterable<SssSocket> {
    switch (target.type) {
      case 'all':
        return this.byId.values();
      case 'user':
        return this.byUser.get(target.id) ?? [];
      case 'session':
        return this.bySession.get(target.id) ?? [];
      case 'socket': {
        const socket = this.byId.get(target.id);
        return socket ? [socket] : [];
      }
      case 'channel':
        return [];
    }
  }
}

function addToIndex(index: Map<string, Set<SssSocket>>, key: string, socket: SssSocket): void {
  let sockets = index.get(key);
  if (!sockets) {
    sockets = new Set();
    index.set(key, sockets);
  }
  sockets.add(socket);
}

function removeFromIndex(index: Map<string, Set<SssSocket>>, key: string, socket: SssSocket): void {
  const sockets = index.get(key);
  if (!sockets) return;
  sockets.delete(socket);
  if (sockets.size === 0) index.delete(key);
}
