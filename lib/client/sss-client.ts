import {
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  type ClientFrame,
  type HelloFrame,
  type PresenceMember,
  type ServerFrame,
} from '../protocol/frames.js';
import { ConnectionAttempt, unsupportedVersionError } from './connection-attempt.js';
import { Heartbeat } from './heartbeat.js';
import { PendingRequests, type ReplyFrame } from './pending-requests.js';
import { DEFAULT_RECONNECT_OPTIONS, ReconnectBackoff } from './reconnect-backoff.js';
import { DEFAULT_RESUBSCRIBE_OPTIONS, Resubscriber } from './resubscriber.js';
import { parseServerFrame } from './server-frame.parser.js';
import type {
  SssClientEvents,
  SssClientStatus,
  SssHelloInfo,
  SssSubscriptionClosedEvent,
} from './sss-client-events.interface.js';
import type { SssClientOptions, WebSocketConstructor, WebSocketLike } from './sss-client-options.interface.js';
import { SssClientError, SssClientErrorCode } from './sss-client.error.js';
import { SssSubscription, type SssSubscriptionHost } from './sss-subscription.js';
import { TypedEventEmitter, type Listener } from './typed-event-emitter.js';
import { isNodeRuntime, resolveWebSocketConstructor } from './websocket-constructor.js';
import { closeSocketGracefully, discardSocket } from './websocket-closing.js';

/** Per-call options of `ask`, `tell` and `subscribe`. */
export interface SssRequestOptions {
  /** Timeout in ms, queued time included; `Infinity` waits forever. Default: the client's `askTimeout` (10_000). */
  timeout?: number;
}

const DEFAULT_ASK_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_HEARTBEAT_GRACE_MS = 1000;
/** The close code reported in `drop` when the client gives up on a silent connection. */
const ABNORMAL_CLOSURE = 1006;
const PING_PAYLOAD = JSON.stringify({ t: 'ping' } satisfies ClientFrame);
/** Server error codes that mean an `unsub` has nothing left to end. */
const UNSUBSCRIBED_ANYWAY: readonly string[] = [
  SssClientErrorCode.Disconnected,
  SssClientErrorCode.Closed,
  ErrorCode.NotSubscribed,
];

/**
 * The Super Scaled Sockets client, for browsers and Node: requests (`ask`, `tell`), ordered
 * channel subscriptions with recovery, server `tell`s, heartbeats and automatic reconnection.
 * This class is the facade; the jobs live beside it: `ConnectionAttempt` (one socket until its
 * `hello`), `PendingRequests` (ids, timeouts, queueing), `Heartbeat` (pings, dead connections),
 * `Resubscriber` (re-subscriptions after a reconnect or a sequence gap).
 *
 * @example
 * const client = new SssClient('wss://example.com/sss');
 * await client.connect();
 * const sub = await client.subscribe('room/1');
 * sub.on('chat', (data) => console.log(data));
 */
export class SssClient {
  private readonly url: string;
  private readonly askTimeout: number;
  private readonly connectTimeout: number;
  private readonly backoff: ReconnectBackoff | undefined;
  private readonly events = new TypedEventEmitter<SssClientEvents>((error, event) => {
    // Errors thrown by 'error' listeners are dropped: reporting them would loop.
    if (event !== 'error') this.reportListenerError(error, `"${event}"`);
  });
  private readonly tellListeners = new TypedEventEmitter<Record<string, [data: unknown]>>((error, topic) =>
    this.reportListenerError(error, `tell "${topic}"`),
  );
  private readonly pending = new PendingRequests((payload) => this.sendRaw(payload));
  private readonly heartbeat: Heartbeat;
  private readonly resubscriber: Resubscriber;
  private readonly subscriptions = new Map<string, SssSubscription>();
  private readonly subscriptionHost: SssSubscriptionHost = {
    unsubscribe: (subscription) => this.unsubscribe(subscription),
    reportError: (error) => this.reportError(error),
    resync: (subscription) => this.resubscriber.resync(subscription),
    presence: (subscription, timeout) =>
      this.request(
        (id) => ({ t: 'presence', id, channel: subscription.channel }),
        timeout,
        (reply) => {
          expectReply(reply, 'res');
          return reply.data as PresenceMember[];
        },
      ),
  };

  private currentStatus: SssClientStatus = 'idle';
  private helloInfo: SssHelloInfo | undefined;
  private socket: WebSocketLike | undefined;
  /** True once the current socket said `hello`, until it is gone. */
  private ready = false;
  /** Bumped by `connect()` and `close()`, so work started before either can tell it is stale. */
  private lifecycle = 0;
  private connectPromise: Promise<SssHelloInfo> | undefined;
  private attempt: ConnectionAttempt | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param url the server's WebSocket endpoint (`ws:`, `wss:`, or `http(s):` which maps to `ws(s):`;
   *   relative to the page in browsers). `v=<protocol version>` is added to its query.
   * @param options see `SssClientOptions`.
   */
  constructor(
    url: string,
    private readonly options: SssClientOptions = {},
  ) {
    this.url = buildUrl(url);
    this.askTimeout = options.askTimeout ?? DEFAULT_ASK_TIMEOUT_MS;
    this.connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.backoff =
      options.reconnect === false
        ? undefined
        : new ReconnectBackoff({ ...DEFAULT_RECONNECT_OPTIONS, ...options.reconnect });
    this.heartbeat = new Heartbeat(
      { ping: () => this.sendRaw(PING_PAYLOAD), dead: () => this.abandonSilentConnection() },
      options.heartbeatGrace ?? DEFAULT_HEARTBEAT_GRACE_MS,
    );
    this.resubscriber = new Resubscriber(
      {
        subscribeFrom: (subscription, timeout, subscribed) =>
          this.request(
            (id) => ({
              t: 'sub',
              id,
              channel: subscription.channel,
              query: subscription.query,
              since: subscription.position,
            }),
            timeout,
            (reply) => {
              expectReply(reply, 'subbed');
              subscribed(reply);
            },
          ),
        sendUnsubscribe: (channel) =>
          this.sendRaw(JSON.stringify({ t: 'unsub', id: this.pending.takeId(), channel } satisfies ClientFrame)),
        deny: (subscription, error) => this.endSubscription(subscription, { reason: 'resubscribe_denied', error }),
        reconnected: (event) => {
          if (this.ready) this.events.emit('reconnect', event);
        },
      },
      { ...DEFAULT_RESUBSCRIBE_OPTIONS, ...options.resubscribe },
    );
  }

  /** The connection status. */
  get status(): SssClientStatus {
    return this.currentStatus;
  }

  /** The server's id of the current (or last) connection; undefined before the first `hello`. */
  get socketId(): string | undefined {
    return this.helloInfo?.socketId;
  }

  /** The authenticated user, from the server's `hello`. */
  get userId(): string | undefined {
    return this.helloInfo?.userId;
  }

  /** The session, from the server's `hello`. */
  get sessionId(): string | undefined {
    return this.helloInfo?.sessionId;
  }

  /**
   * Opens the connection and resolves with the server's `hello`. A failure rejects with
   * `HANDSHAKE_REJECTED` (with `status` when known), `CONNECT_FAILED`, `BOOTED` or
   * `UNSUPPORTED_VERSION`, and is not retried. Connecting again after `close()` is allowed.
   */
  connect(): Promise<SssHelloInfo> {
    switch (this.currentStatus) {
      case 'open':
        return Promise.resolve({ ...this.helloInfo! });
      case 'connecting':
        return this.connectPromise!;
      case 'reconnecting':
        return this.nextConnection();
      default:
        break;
    }
    const lifecycle = ++this.lifecycle;
    this.setStatus('connecting');
    this.connectPromise = this.openConnection().then(
      (info) => {
        this.connectPromise = undefined;
        return info;
      },
      (error: SssClientError) => {
        this.connectPromise = undefined;
        if (lifecycle === this.lifecycle) this.shutDown(error, 'connection_lost');
        throw error;
      },
    );
    return this.connectPromise;
  }

  /**
   * Asks the server and resolves with its answer (`res.data`). Rejects with `SssClientError`:
   * the server's `err` code (for example `FORBIDDEN`), or `TIMEOUT`, `DISCONNECTED`, `CLOSED`.
   * While the client reconnects the request waits, its timeout running.
   */
  ask<T = unknown>(topic: string, data?: unknown, options: SssRequestOptions = {}): Promise<T> {
    return this.request(
      (id) => ({ t: 'ask', id, topic, data }),
      options.timeout,
      (reply) => {
        expectReply(reply, 'res');
        return reply.data as T;
      },
    );
  }

  /** Tells the server something; resolves once a handler accepted it (`ack`). Rejects like `ask`. */
  tell(topic: string, data?: unknown, options: SssRequestOptions = {}): Promise<void> {
    return this.request(
      (id) => ({ t: 'tell', id, topic, data }),
      options.timeout,
      (reply) => {
        expectReply(reply, 'ack');
      },
    );
  }

  /**
   * Subscribes to a channel and resolves with the subscription once the server allowed it
   * (`subbed`). Rejects like `ask` (for example `FORBIDDEN` or `ALREADY_SUBSCRIBED`).
   * Attach listeners right after it resolves: messages are held until the next macrotask.
   */
  subscribe<T = unknown>(
    channel: string,
    query?: unknown,
    options: SssRequestOptions = {},
  ): Promise<SssSubscription<T>> {
    return this.request(
      (id) => ({ t: 'sub', id, channel, query }),
      options.timeout,
      (reply) => {
        expectReply(reply, 'subbed');
        const subscription = new SssSubscription<T>(this.subscriptionHost, reply, query);
        subscription.holdUntilNextTask();
        const replaced = this.subscriptions.get(channel);
        if (replaced) this.endSubscription(replaced, { reason: 'replaced' });
        this.subscriptions.set(channel, subscription as SssSubscription);
        return subscription;
      },
    );
  }

  /** Listens to server `tell` frames with one topic; returns a function that removes the listener. */
  onTell<T = unknown>(topic: string, listener: (data: T) => void): () => void {
    return this.tellListeners.on(topic, listener as Listener<[data: unknown]>);
  }

  /** Listens to a client event (see `SssClientEvents`); returns a function that removes the listener. */
  on<E extends keyof SssClientEvents>(event: E, listener: Listener<SssClientEvents[E]>): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Closes the connection for good (close code 1000): no reconnect, pending requests reject with
   * `CLOSED`, subscriptions emit `closed`. Resolves once the socket closed; leaves no timers.
   */
  async close(): Promise<void> {
    if (this.currentStatus === 'closed' || this.currentStatus === 'idle') {
      this.setStatus('closed');
      return;
    }
    this.lifecycle += 1;
    const socket = this.ready ? this.socket : undefined;
    this.attempt?.abort(new SssClientError(SssClientErrorCode.Closed, 'The client was closed while connecting'));
    this.socket = undefined;
    this.shutDown(new SssClientError(SssClientErrorCode.Closed, 'The client was closed'), 'client_closed');
    if (socket) await closeSocketGracefully(socket);
  }

  private request<R>(
    buildFrame: (id: number) => ClientFrame,
    timeout: number | undefined,
    accept: (reply: ReplyFrame) => R,
  ): Promise<R> {
    if (this.currentStatus === 'idle' || this.currentStatus === 'closed') {
      const hint = this.currentStatus === 'idle' ? ': call connect() first' : '';
      return Promise.reject(
        new SssClientError(SssClientErrorCode.Closed, `The client is ${this.currentStatus}${hint}`),
      );
    }
    return this.pending.add(buildFrame, timeout ?? this.askTimeout, accept, this.ready);
  }

  private sendRaw(payload: string): void {
    try {
      this.socket?.send(payload);
      this.heartbeat.sent();
    } catch {
      // The socket is closing; its close event reports the drop.
    }
  }

  /** Creates a socket and resolves on its `hello`; the socket is established before the next frame. */
  private async openConnection(): Promise<SssHelloInfo> {
    const lifecycle = this.lifecycle;
    let WebSocketImpl: WebSocketConstructor;
    try {
      WebSocketImpl = await resolveWebSocketConstructor(this.options.WebSocket, this.options.headers !== undefined);
    } catch (error) {
      throw new SssClientError(
        SssClientErrorCode.ConnectFailed,
        'No WebSocket implementation: install `ws`',
        undefined,
        { cause: error },
      );
    }
    if (lifecycle !== this.lifecycle) {
      throw new SssClientError(SssClientErrorCode.Closed, 'The client was closed while connecting');
    }
    let socket: WebSocketLike;
    try {
      socket = this.createSocket(WebSocketImpl);
    } catch (error) {
      throw new SssClientError(SssClientErrorCode.ConnectFailed, `Cannot open ${this.url}`, undefined, {
        cause: error,
      });
    }
    this.socket = socket;
    const attempt = new ConnectionAttempt(socket, this.connectTimeout, (hello) => this.establish(socket, hello));
    this.attempt = attempt;
    try {
      await attempt.hello;
      return { ...this.helloInfo! };
    } catch (error) {
      if (this.socket === socket) this.socket = undefined;
      throw error;
    } finally {
      if (this.attempt === attempt) this.attempt = undefined;
    }
  }

  private createSocket(WebSocketImpl: WebSocketConstructor): WebSocketLike {
    const headers = this.options.headers;
    // Browsers would take an options object for a subprotocol name, so only Node gets headers.
    if (headers && (this.options.WebSocket || isNodeRuntime())) return new WebSocketImpl(this.url, { headers });
    return new WebSocketImpl(this.url);
  }

  private establish(socket: WebSocketLike, hello: HelloFrame): void {
    const isReconnect = this.currentStatus === 'reconnecting';
    socket.onmessage = (event) => this.handleMessage(socket, event.data);
    socket.onclose = (event) => this.handleDrop(socket, event.code, event.reason);
    // A close event always follows an error; that is where the drop is handled.
    socket.onerror = () => undefined;
    const info: SssHelloInfo = { socketId: hello.socketId, heartbeat: hello.heartbeat };
    if (hello.userId !== undefined) info.userId = hello.userId;
    if (hello.sessionId !== undefined) info.sessionId = hello.sessionId;
    this.helloInfo = info;
    this.ready = true;
    this.backoff?.reset();
    this.heartbeat.start(this.options.heartbeatInterval ?? hello.heartbeat);
    // Re-subscriptions go out before the requests queued while reconnecting.
    if (isReconnect) this.resubscriber.resubscribeAll([...this.subscriptions.values()]);
    this.pending.sendQueued();
    this.setStatus('open');
    this.events.emit('connect', { ...info });
  }

  private handleMessage(socket: WebSocketLike, raw: unknown): void {
    if (socket !== this.socket) return;
    this.heartbeat.received();
    const frame = parseServerFrame(raw);
    if (!frame) {
      this.reportError(new SssClientError(SssClientErrorCode.BadFrame, 'The server sent an unreadable frame', raw));
      return;
    }
    try {
      this.handleFrame(frame);
    } catch (error) {
      this.reportError(
        new SssClientError(SssClientErrorCode.BadFrame, `Cannot handle a "${frame.t}" frame`, frame, { cause: error }),
      );
    }
  }

  private handleFrame(frame: ServerFrame): void {
    switch (frame.t) {
      case 'msg':
      case 'skip':
        this.subscriptions.get(frame.channel)?.receive(frame);
        return;
      case 'res':
      case 'ack':
      case 'subbed':
        this.settleRequest(frame);
        return;
      case 'err':
        this.handleErrorFrame(frame.id, new SssClientError(frame.code, frame.message, frame.details));
        return;
      case 'tell':
        this.tellListeners.emit(frame.topic, frame.data);
        return;
      case 'presence':
        this.subscriptions.get(frame.channel)?.presenceChanged(frame);
        return;
      case 'unsubbed': {
        const subscription = this.subscriptions.get(frame.channel);
        if (subscription) this.endSubscription(subscription, { reason: frame.reason });
        return;
      }
      default:
        // pong, a repeated hello, or a frame type from a newer server: nothing to do.
        return;
    }
  }

  private settleRequest(reply: ReplyFrame): void {
    if (this.pending.settle(reply)) return;
    // A subscription whose request timed out exists on the server only: end it there too.
    if (reply.t === 'subbed' && !this.subscriptions.has(reply.channel)) {
      this.sendRaw(
        JSON.stringify({ t: 'unsub', id: this.pending.takeId(), channel: reply.channel } satisfies ClientFrame),
      );
    }
  }

  private handleErrorFrame(id: number | undefined, error: SssClientError): void {
    if (id === undefined) this.reportError(error);
    else this.pending.fail(id, error);
  }

  private handleDrop(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.ready = false;
    this.heartbeat.stop();
    this.resubscriber.stopAll();
    this.pending.failSent(
      new SssClientError(SssClientErrorCode.Disconnected, 'The connection dropped before the answer', {
        code,
        reason,
      }),
    );
    if (code === CloseCode.Booted) {
      this.shutDown(
        new SssClientError(SssClientErrorCode.Booted, `Booted by the server: ${reason}`, { reason }),
        'booted',
      );
      this.events.emit('drop', { code, reason });
      this.events.emit('boot', { reason });
      return;
    }
    if (code === CloseCode.UnsupportedVersion) {
      const error = unsupportedVersionError(reason);
      this.shutDown(error, 'unsupported_version');
      this.events.emit('drop', { code, reason });
      this.reportError(error);
      return;
    }
    if (!this.backoff) {
      this.shutDown(
        new SssClientError(SssClientErrorCode.Disconnected, 'The connection dropped', { code, reason }),
        'connection_lost',
      );
      this.events.emit('drop', { code, reason });
      return;
    }
    this.setStatus('reconnecting');
    // NOTE: every client of a lost (or draining, 1001) instance comes back now: spread them over the
    // window so the survivors are not hit at once. Failed attempts then back off exponentially.
    this.scheduleReconnect(this.backoff.spread());
    this.events.emit('drop', { code, reason });
  }

  private scheduleReconnect(delay: number): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    const lifecycle = this.lifecycle;
    try {
      await this.openConnection();
    } catch (caught) {
      if (lifecycle !== this.lifecycle || this.currentStatus !== 'reconnecting') return;
      const error = caught as SssClientError;
      if (error.code === SssClientErrorCode.Booted) {
        const reason = (error.details as { reason: string }).reason;
        this.shutDown(error, 'booted');
        this.events.emit('boot', { reason });
      } else if (error.code === SssClientErrorCode.UnsupportedVersion) {
        this.shutDown(error, 'unsupported_version');
        this.reportError(error);
      } else {
        // A rejected handshake may need the application (expired credentials): tell it, keep trying.
        if (error.code === SssClientErrorCode.HandshakeRejected) this.reportError(error);
        this.scheduleReconnect(this.backoff!.next());
      }
    }
  }

  private async unsubscribe(subscription: SssSubscription): Promise<void> {
    if (subscription.closed) return;
    this.endSubscription(subscription, { reason: 'unsubscribed' });
    // Without a connection the server holds nothing, and the next connection will not re-subscribe.
    if (!this.ready) return;
    try {
      await this.request(
        (id) => ({ t: 'unsub', id, channel: subscription.channel }),
        undefined,
        (reply) => {
          expectReply(reply, 'ack');
        },
      );
    } catch (caught) {
      if (!UNSUBSCRIBED_ANYWAY.includes((caught as SssClientError).code)) throw caught;
    }
  }

  /** Ends a subscription on the client: forgets it, stops its re-subscription, emits `closed`. */
  private endSubscription(subscription: SssSubscription, event: SssSubscriptionClosedEvent): void {
    if (this.subscriptions.get(subscription.channel) === subscription) this.subscriptions.delete(subscription.channel);
    this.resubscriber.cancel(subscription);
    subscription.end(event);
  }

  /** The server went silent: its closing handshake would never finish, so drop the socket outright. */
  private abandonSilentConnection(): void {
    const socket = this.socket;
    if (!socket) return;
    discardSocket(socket);
    this.handleDrop(socket, ABNORMAL_CLOSURE, 'heartbeat timeout');
  }

  /** Ends everything for good: timers, requests, subscriptions; status `closed`. */
  private shutDown(error: SssClientError, subscriptionReason: string): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.heartbeat.stop();
    this.resubscriber.stopAll();
    this.ready = false;
    this.pending.failAll(error);
    const subscriptions = [...this.subscriptions.values()];
    this.subscriptions.clear();
    const subscriptionError = error.code === SssClientErrorCode.Closed ? undefined : error;
    for (const subscription of subscriptions) {
      subscription.end(
        subscriptionError ? { reason: subscriptionReason, error: subscriptionError } : { reason: subscriptionReason },
      );
    }
    this.setStatus('closed');
  }

  /** Resolves on the next successful `hello`, rejects if the client closes first. */
  private nextConnection(): Promise<SssHelloInfo> {
    return new Promise((resolve, reject) => {
      const stop = () => {
        removeConnect();
        removeStatus();
      };
      const removeConnect = this.events.on('connect', (info) => {
        stop();
        resolve(info);
      });
      const removeStatus = this.events.on('status', (status) => {
        if (status !== 'closed') return;
        stop();
        reject(new SssClientError(SssClientErrorCode.Closed, 'The client closed before reconnecting'));
      });
    });
  }

  private setStatus(status: SssClientStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.events.emit('status', status);
  }

  private reportError(error: SssClientError): void {
    this.events.emit('error', error);
  }

  private reportListenerError(error: unknown, what: string): void {
    this.reportError(
      new SssClientError(SssClientErrorCode.ListenerError, `A ${what} listener threw`, undefined, { cause: error }),
    );
  }
}

function buildUrl(url: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  const parsed = new URL(url, base);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  parsed.searchParams.set('v', String(PROTOCOL_VERSION));
  return parsed.toString();
}

function expectReply<T extends ReplyFrame['t']>(
  reply: ReplyFrame,
  type: T,
): asserts reply is Extract<ReplyFrame, { t: T }> {
  if (reply.t !== type) {
    throw new SssClientError(
      SssClientErrorCode.BadFrame,
      `Expected "${type}" but the server answered "${reply.t}"`,
      reply,
    );
  }
}
