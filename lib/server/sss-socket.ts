import type { WebSocket } from 'ws';
import { CloseCode, type ChannelPosition, type ServerFrame } from '../protocol/frames.js';
import type { Scaler } from '../scaler/scaler.interface.js';
import type { ChannelSubscription } from '../channels/channel-subscription.js';
import type { SssHandshake } from '../interfaces/sss-handshake.interface.js';
import { SssMessages } from '../sss.messages.js';
import { encodeTextFrame, truncateUtf8, type SharedFrame } from './frame.encoder.js';
import { SssSession } from '../scaler/session/sss-session.js';

/** What every socket of an instance shares; one object, not one per socket. */
export interface SocketRuntime {
  scaler: Scaler;
  maxBufferedBytes: number;
  /** Frames a socket may send per second. */
  messagesPerSecond: number;
}

// How long a socket closed for flooding has to receive its close frame before it is dropped.
const FLOODING_CLOSE_GRACE_MS = 1_000;

// Close reasons are limited to 123 bytes by the WebSocket protocol.
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A connected client, as handlers see it (`@ConnectedSocket()`). Lives on one instance; to reach a
 * socket from anywhere, publish to its user or session through `SssPublisher`.
 */
export class SssSocket {
  // Created on first use: many sockets never subscribe, and an empty Map costs ~100 bytes each.
  private subscriptionsByChannel?: Map<string, ChannelSubscription>;
  /** @internal When the socket last sent anything (ms since epoch); the heartbeat sweep reads it. */
  lastSeenAt = Date.now();
  private rateTokens: number;
  private rateCheckedAt = this.lastSeenAt;
  /** Set while reading is paused because the socket is over its budget. */
  private resumeTimer?: NodeJS.Timeout;
  private sessionData?: SssSession;

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
    if (handshake.presence !== undefined) this.presenceInfo = handshake.presence;
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
  /** What presence shows of this socket's user (`handshake.presence`). */
  readonly presenceInfo?: Record<string, unknown>;

  /**
   * The data of this socket's session, shared by every instance (see `SssSession`). Its
   * methods reject with `SessionDataError` when the socket has no session id.
   */
  get session(): SssSession {
    return (this.sessionData ??= new SssSession(this.runtime.scaler.sessions, this.sessionId));
  }

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

  /** @internal Channel name → subscription. */
  get subscriptions(): Map<string, ChannelSubscription> {
    return (this.subscriptionsByChannel ??= new Map());
  }

  /** Whether this socket holds a subscription to `channel`. */
  isSubscribed(channel: string): boolean {
    return this.subscriptionsByChannel?.has(channel) ?? false;
  }

  /** The channels this socket is subscribed to. */
  get channels(): string[] {
    return this.subscriptionsByChannel ? [...this.subscriptionsByChannel.keys()] : [];
  }

  /** @internal Sends a frame object. */
  send(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /** @internal Sends an already serialized frame. */
  sendRaw(frame: string): void {
    if (!this.canSend()) return;
    const sender = this.idleSender();
    if (sender) sender.sendFrame([encodeTextFrame(frame)]);
    else this.ws.send(frame);
  }

  /** @internal Sends a frame that was serialized and encoded once for many sockets (fan-out). */
  sendShared(frame: SharedFrame): void {
    if (!this.canSend()) return;
    const sender = this.idleSender();
    if (sender) sender.sendFrame([frame.bytes]);
    else this.ws.send(frame.text);
  }

  /** @internal Closes the connection with a code and reason. */
  close(code: number, reason: string): void {
    this.ws.close(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
  }

  /** @internal Drops the connection without a closing handshake. */
  terminate(): void {
    this.ws.terminate();
  }

  /**
   * Whether a frame may be sent now. A socket whose send buffer outgrows the limit is dropped:
   * memory stays bounded, and the client recovers what it missed when it reconnects.
   */
  private canSend(): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > this.runtime.maxBufferedBytes) {
      this.ws.terminate();
      return false;
    }
    return true;
  }

  /**
   * ws's frame writer, when nothing waits in it (no compression runs, nothing queued), so that a
   * complete frame can be written as one buffer. NOTE: `_sender.sendFrame` is internal to ws; it
   * is what Socket.IO writes its pre-encoded broadcast frames with. It saves `ws.send()`'s option
   * objects, its separate header buffer and the corked two-buffer write: about 3 µs per frame on
   * the bench machine. Any other ws (or a busy writer) gets the public `send()`.
   */
  private idleSender(): WsSender | undefined {
    const sender = (this.ws as unknown as { _sender?: Partial<WsSender> })._sender;
    if (sender?._state !== 0 || sender._queue?.length !== 0 || typeof sender.sendFrame !== 'function') return undefined;
    return sender as WsSender;
  }

  /**
   * @internal Takes one frame from the socket's budget (a token bucket of `messagesPerSecond`,
   * bursts up to twice that; 0 = no limit). Every frame counts: requests, pings, unreadable
   * frames and WebSocket control frames. A frame over budget still costs one token, and the socket
   * is no longer read until its budget has a token again: TCP backpressure then slows the sender
   * down, whatever it sends and however fast. A debt of one full bucket closes the socket.
   */
  takeRateToken(now: number): boolean {
    const perSecond = this.runtime.messagesPerSecond;
    // 0 (off) resolves to Infinity; anything not finite and positive means no limit.
    if (!(perSecond > 0 && perSecond < Infinity)) return true;
    const capacity = perSecond * 2;
    this.rateTokens = Math.min(capacity, this.rateTokens + ((now - this.rateCheckedAt) / 1000) * perSecond);
    this.rateCheckedAt = now;
    if (this.rateTokens >= 1) {
      this.rateTokens -= 1;
      return true;
    }
    if (this.rateTokens <= -capacity) {
      this.closeForFlooding();
      return false;
    }
    this.rateTokens -= 1;
    if (this.resumeTimer === undefined) this.pauseReading();
    return false;
  }

  /**
   * A socket that keeps sending while it is over budget (what a paused socket had already sent
   * counts too) is closed with 1008 and no longer read: the frames still buffered would otherwise
   * all be handled in one turn of the event loop. Unread, it cannot answer the close frame, so
   * the connection is dropped after a grace period that lets the close frame reach the client.
   */
  private closeForFlooding(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    clearTimeout(this.resumeTimer);
    this.close(CloseCode.PolicyViolation, SssMessages.flooding);
    this.ws.pause();
    setTimeout(() => this.ws.terminate(), FLOODING_CLOSE_GRACE_MS).unref();
  }

  /** Stops reading the socket until the budget has a token again (frames already read still arrive). */
  private pauseReading(): void {
    const waitMs = ((1 - this.rateTokens) / this.runtime.messagesPerSecond) * 1000;
    this.ws.pause();
    this.resumeTimer = setTimeout(() => this.resumeReading(), Math.ceil(waitMs));
    // A paused socket must not keep the process alive.
    this.resumeTimer.unref();
  }

  private resumeReading(): void {
    this.resumeTimer = undefined;
    if (this.ws.readyState !== this.ws.OPEN) return;
    const now = Date.now();
    const perSecond = this.runtime.messagesPerSecond;
    this.rateTokens = Math.min(perSecond * 2, this.rateTokens + ((now - this.rateCheckedAt) / 1000) * perSecond);
    this.rateCheckedAt = now;
    // Frames read after the pause started may have deepened the debt.
    if (this.rateTokens < 1) return this.pauseReading();
    this.ws.resume();
  }
}

/** The internals of ws's `Sender` that `SssSocket.idleSender()` relies on. */
interface WsSender {
  /** 0 (DEFAULT) when no compression or blob read is in progress. */
  _state: number;
  /** Frames waiting for the writer to become idle. */
  _queue: unknown[];
  /** Writes already framed buffers to the TCP socket. */
  sendFrame(list: Buffer[]): void;
}
