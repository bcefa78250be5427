import type { WebSocket } from 'ws';
import { CloseCode, type ChannelPosition, type ServerFrame } from '../protocol/frames.js';
import type { Scaler } from '../scaler/scaler.interface.js';
import type { ChannelSubscription } from '../channels/channel-subscription.js';
import type { SssHandshake } from '../interfaces/sss-handshake.interface.js';
import { SssMessages } from '../sss.messages.js';

/** What every socket of an instance shares; one object, not one per socket. */
export interface SocketRuntime {
  scaler: Scaler;
  maxBufferedBytes: number;
  /** Frames a socket may send per second. */
  messagesPerSecond: number;
}

// Close reasons are limited to 123 bytes by the WebSocket protocol.
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A connected client, as handlers see it (`@ConnectedSocket()`). Lives on one instance; to reach a
 * socket from anywhere, publish to its user or session through `SssPublisher`.
 */
export class SssSocket {
  /** @internal Channel name → subscription. */
  readonly subscriptions = new Map<string, ChannelSubscription>();
  /** @internal When the socket last sent anything (ms since epoch); the heartbeat sweep reads it. */
  lastSeenAt = Date.now();
  private rateTokens: number;
  private rateCheckedAt = this.lastSeenAt;

  /** @internal Sockets are created by the server. */
  constructor(
    /** Unique across all instances. */
    readonly id: string,
    private readonly ws: WebSocket,
    handshake: SssHandshake,
    private readonly runtime: SocketRuntime,
  ) {
    this.userId = handshake.userId;
    this.sessionId = handshake.sessionId;
    this.locals = handshake.locals;
    this.address = handshake.address;
    this.rateTokens = runtime.messagesPerSecond * 2;
  }

  /** The user id the session guard set. */
  readonly userId?: string;
  /** The session id the session guard set. */
  readonly sessionId?: string;
  /** What the session guard (or the app later) put here. */
  readonly locals: Record<string, unknown>;
  /** The client address. */
  readonly address: string;

  /** Whether the connection is open. */
  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Sends a one-way message to this socket (`client.onTell(topic)`). */
  tell(topic: string, data?: unknown): void {
    this.send({ t: 'tell', topic, data });
  }

  /**
   * Publishes on a channel to every subscriber on every instance except this socket. Resolves once
   * stored, with the message's position.
   */
  publish(channel: string, topic: string, data?: unknown): Promise<ChannelPosition> {
    return this.runtime.scaler.publish(channel, topic, data, { exceptSocketId: this.id });
  }

  /** Closes the connection with close code 4001; the client does not reconnect. */
  boot(reason: string = SssMessages.booted): void {
    this.ws.close(CloseCode.Booted, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
  }

  /** Whether this socket holds a subscription to `channel`. */
  isSubscribed(channel: string): boolean {
    return this.subscriptions.has(channel);
  }

  /** The channels this socket is subscribed to. */
  get channels(): string[] {
    return [...this.subscriptions.keys()];
  }

  /** @internal Sends a frame object. */
  send(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /**
   * @internal Sends an already serialized frame. A socket whose send buffer outgrows the limit is
   * dropped: memory stays bounded, and the client recovers what it missed when it reconnects.
   */
  sendRaw(frame: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.runtime.maxBufferedBytes) {
      this.ws.terminate();
      return;
    }
    this.ws.send(frame);
  }

  /** @internal Closes the connection with a code and reason. */
  close(code: number, reason: string): void {
    this.ws.close(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
  }

  /** @internal Drops the connection without a closing handshake. */
  terminate(): void {
    this.ws.terminate();
  }

  /** @internal Takes one frame from the token bucket; false when the socket is over its rate. */
  takeRateToken(now: number): boolean {
    const perSecond = this.runtime.messagesPerSecond;
    const refill = ((now - this.rateCheckedAt) / 1000) * perSecond;
    this.rateCheckedAt = now;
    this.rateTokens = Math.min(perSecond * 2, this.rateTokens + refill);
    if (this.rateTokens < 1) return false;
    this.rateTokens -= 1;
    return true;
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (Buffer.byteLength(text.slice(0, end)) > maxBytes) end--;
  return text.slice(0, end);
}
