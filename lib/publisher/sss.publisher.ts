import { Inject, Injectable } from '@nestjs/common';
import type { ChannelPosition, PresenceMember } from '../protocol/frames.js';
import { SssSession } from '../scaler/session/sss-session.js';
import type { Scaler, SignalTarget } from '../scaler/scaler.interface.js';
import { SSS_SCALER } from '../sss.constants.js';
import { SssMessages } from '../sss.messages.js';

/**
 * Publishes from anywhere in the app, even from a process that serves no sockets: every subscriber
 * on every instance receives the message, in order.
 *
 * @example
 * ```ts
 * constructor(private readonly publisher: SssPublisher) {}
 * const { seq } = await this.publisher.publish('sport', 'article', article);
 * ```
 */
@Injectable()
export class SssPublisher {
  constructor(@Inject(SSS_SCALER) private readonly scaler: Scaler) {}

  /**
   * Publishes on a channel. Resolves with the message's position once it is stored (and so
   * recoverable); rejects when it could not be stored, in which case nobody received it.
   */
  publish(channel: string, topic: string, data?: unknown): Promise<ChannelPosition> {
    return this.scaler.publish(channel, topic, data);
  }

  /** Tells every socket on every instance (`client.onTell(topic)`). Not stored, not recoverable. */
  broadcast(topic: string, data?: unknown): Promise<void> {
    return this.tell({ type: 'all' }, topic, data);
  }

  /** Tells every socket (every tab and device) of a user, on every instance. */
  toUser(userId: string, topic: string, data?: unknown): Promise<void> {
    return this.tell({ type: 'user', id: userId }, topic, data);
  }

  /** Tells every socket of a session, on every instance. */
  toSession(sessionId: string, topic: string, data?: unknown): Promise<void> {
    return this.tell({ type: 'session', id: sessionId }, topic, data);
  }

  /** Tells one socket, wherever it is connected. */
  toSocket(socketId: string, topic: string, data?: unknown): Promise<void> {
    return this.tell({ type: 'socket', id: socketId }, topic, data);
  }

  /** Ends every subscription to a channel; clients get the subscription's `closed` event. */
  bootChannel(channel: string, reason: string = SssMessages.channelBooted): Promise<void> {
    return this.scaler.signal({ kind: 'boot', target: { type: 'channel', id: channel }, reason });
  }

  /** Disconnects every socket of a user with close code 4001; they do not reconnect. */
  bootUser(userId: string, reason: string = SssMessages.booted): Promise<void> {
    return this.scaler.signal({ kind: 'boot', target: { type: 'user', id: userId }, reason });
  }

  /** Disconnects every socket of a session with close code 4001. */
  bootSession(sessionId: string, reason: string = SssMessages.booted): Promise<void> {
    return this.scaler.signal({ kind: 'boot', target: { type: 'session', id: sessionId }, reason });
  }

  /** Disconnects one socket, wherever it is connected, with close code 4001. */
  bootSocket(socketId: string, reason: string = SssMessages.booted): Promise<void> {
    return this.scaler.signal({ kind: 'boot', target: { type: 'socket', id: socketId }, reason });
  }

  /**
   * Every member of a presence-tracked channel (`@Channel(pattern, { presence: true })`) across
   * every instance: each user once, with its number of connections and its exposed `info`.
   */
  presence(channel: string): Promise<PresenceMember[]> {
    return this.scaler.presence.members(channel);
  }

  /** The shared data of a session, as its sockets see it in `socket.session`. */
  session(sessionId: string): SssSession {
    return new SssSession(this.scaler.sessions, sessionId);
  }

  private tell(target: SignalTarget, topic: string, data: unknown): Promise<void> {
    return this.scaler.signal({ kind: 'tell', target, topic, data });
  }
}
