import {
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  type AckFrame,
  type ClientFrame,
  type HelloFrame,
  type ResponseFrame,
  type ServerFrame,
  type SubscribedFrame,
} from '../protocol/frames.js';
import { DEFAULT_RECONNECT_OPTIONS, ReconnectBackoff } from './reconnect-backoff.js';
import type {
  SssClientEvents,
  SssClientStatus,
  SssHelloInfo,
  SssResubscriptionResult,
} from './sss-client-events.interface.js';
import type { SssClientOptions, WebSocketConstructor, WebSocketLike } from './sss-client-options.interface.js';
import { SssClientError, SssClientErrorCode } from './sss-client.error.js';
import { SssSubscription, type SssSubscriptionHost } from './sss-subscription.js';
import { TypedEventEmitter, type Listener } from './typed-event-emitter.js';
import { isNodeRuntime, resolveWebSocketConstructor } from './websocket-constructor.js';

/** Per-call options of `ask`, `tell` and `subscribe`. */
export interface SssRequestOptions {
  /** Timeout in ms, queued time included; `Infinity` waits forever. Default: the client's `askTimeout` (10_000). */
  timeout?: number;
}

type ReplyFrame = ResponseFrame | AckFrame | SubscribedFrame;

interface PendingRequest {
  readonly payload: string;
  /** False while queued for a connection that is not open yet. */
  sent: boolean;
  /** Runs synchronously on the reply, so state it sets up is in place before the next frame. */
  readonly settle: (reply: ReplyFrame) => void;
  readonly fail: (error: SssClientError) => void;
}

const DEFAULT_ASK_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_HEARTBEAT_GRACE_MS = 1000;
/** How long `close()` waits for the closing handshake before dropping the connection. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000;
const READY_STATE_CLOSED = 3;
/** The close code reported in `drop` when the client gives up on a silent connection. */
const ABNORMAL_CLOSURE = 1006;
const PING_PAYLOAD = JSON.stringify({ t: 'ping' } satisfies ClientFrame);
const HANDSHAKE_STATUS_PATTERN = /Unexpected server response: (\d{3})/;

/**
 * The Super Scaled Sockets client, for browsers and Node: requests (`ask`, `tell`), ordered
 * channel subscriptions with recovery, server `tell`s, heartbeats and automatic reconnection.
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
  private readonly heartbeatGrace: number;
  private readonly backoff: ReconnectBackoff | undefined;
  private readonly events = new TypedEventEmitter<SssClientEvents>((error, event) => {
    // Errors thrown by 'error' listeners are dropped: reporting them would loop.
    if (event !== 'error') this.reportListenerError(error, `"${event}"`);
  });
  private readonly tellListeners = new TypedEventEmitter<Record<string, [data: unknown]>>((error, topic) =>
    this.reportListenerError(error, `tell "${topic}"`),
  );
  private readonly pending = new Map<number, PendingRequest>();
  private readonly subscriptions = new Map<string, SssSubscription>();
  private readonly subscriptionHost: SssSubscriptionHost = {
    unsubscribe: (subscription) => this.unsubscribe(subscription),
    reportError: (error) => this.reportError(error),
  };

  private currentStatus: SssClientStatus = 'idle';
  private helloInfo: SssHelloInfo | undefined;
  private socket: WebSocketLike | undefined;
  /** True once the current socket said `hello`, until it is gone. */
  private ready = false;
  private nextRequestId = 1;
  /** Bumped by `connect()` and `close()`, so work started before either can tell it is stale. */
  private lifecycle = 0;
  /** Bumped on every `hello`, so a re-subscription round can tell its connection is gone. */
  private connectionGeneration = 0;
  private connectPromise: Promise<SssHelloInfo> | undefined;
  private abortAttempt: ((error: SssClientError) => void) | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lastSentAt = 0;
  private lastReceivedAt = 0;

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
    this.heartbeatGrace = options.heartbeatGrace ?? DEFAULT_HEARTBEAT_GRACE_MS;
    this.backoff =
      options.reconnect === false
        ? undefined
        : new ReconnectBackoff({ ...DEFAULT_RECONNECT_OPTIONS, ...options.reconnect });
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
        this.subscriptions.get(channel)?.end({ reason: 'replaced' });
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
    this.abortAttempt?.(new SssClientError(SssClientErrorCode.Closed, 'The client was closed while connecting'));
    this.socket = undefined;
    this.shutDown(new SssClientError(SssClientErrorCode.Closed, 'The client was closed'), 'client_closed');
    if (socket) await closeGracefully(socket);
  }

  private request<R>(
    buildFrame: (id: number) => ClientFrame,
    timeout: number | undefined,
    accept: (reply: ReplyFrame) => R,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.currentStatus === 'idle' || this.currentStatus === 'closed') {
        const hint = this.currentStatus === 'idle' ? ': call connect() first' : '';
        reject(new SssClientError(SssClientErrorCode.Closed, `The client is ${this.currentStatus}${hint}`));
        return;
      }
      const id = this.nextRequestId++;
      let payload: string;
      try {
        payload = JSON.stringify(buildFrame(id));
      } catch (error) {
        reject(
          new SssClientError(SssClientErrorCode.BadFrame, 'The request is not serialisable as JSON', undefined, {
            cause: error,
          }),
        );
        return;
      }
      const timeoutMs = timeout ?? this.askTimeout;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(id);
      };
      const request: PendingRequest = {
        payload,
        sent: false,
        settle: (reply) => {
          finish();
          try {
            resolve(accept(reply));
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () =>
            request.fail(new SssClientError(SssClientErrorCode.Timeout, `No answer within ${timeoutMs} ms`, { id })),
          timeoutMs,
        );
      }
      this.pending.set(id, request);
      if (this.ready) this.sendRequest(request);
    });
  }

  private sendRequest(request: PendingRequest): void {
    request.sent = true;
    this.sendRaw(request.payload);
  }

  private sendRaw(payload: string): void {
    try {
      this.socket?.send(payload);
      this.lastSentAt = Date.now();
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
    return new Promise<SssHelloInfo>((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = this.createSocket(WebSocketImpl);
      } catch (error) {
        reject(
          new SssClientError(SssClientErrorCode.ConnectFailed, `Cannot open ${this.url}`, undefined, { cause: error }),
        );
        return;
      }
      this.socket = socket;
      let socketError: SssClientError | undefined;
      const fail = (error: SssClientError) => {
        clearTimeout(timer);
        this.abortAttempt = undefined;
        if (this.socket === socket) this.socket = undefined;
        discard(socket);
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new SssClientError(SssClientErrorCode.ConnectFailed, `No hello within ${this.connectTimeout} ms`)),
        this.connectTimeout,
      );
      this.abortAttempt = fail;
      socket.onerror = (event) => {
        socketError ??= errorFromSocketEvent(event);
      };
      socket.onclose = (event) => fail(errorFromEarlyClose(event.code, event.reason, socketError));
      socket.onmessage = (event) => {
        const frame = parseFrame(event.data);
        if (frame?.t !== 'hello') {
          fail(new SssClientError(SssClientErrorCode.ConnectFailed, 'The server did not start with hello', frame));
          return;
        }
        clearTimeout(timer);
        this.abortAttempt = undefined;
        resolve(this.establish(socket, frame));
      };
    });
  }

  private createSocket(WebSocketImpl: WebSocketConstructor): WebSocketLike {
    const headers = this.options.headers;
    // Browsers would take an options object for a subprotocol name, so only Node gets headers.
    if (headers && (this.options.WebSocket || isNodeRuntime())) return new WebSocketImpl(this.url, { headers });
    return new WebSocketImpl(this.url);
  }

  private establish(socket: WebSocketLike, hello: HelloFrame): SssHelloInfo {
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
    this.connectionGeneration += 1;
    this.backoff?.reset();
    this.startHeartbeat(this.options.heartbeatInterval ?? hello.heartbeat);
    if (isReconnect) this.resubscribeAll();
    for (const request of this.pending.values()) {
      if (!request.sent) this.sendRequest(request);
    }
    this.setStatus('open');
    this.events.emit('connect', { ...info });
    return { ...info };
  }

  private handleMessage(socket: WebSocketLike, raw: unknown): void {
    if (socket !== this.socket) return;
    this.lastReceivedAt = Date.now();
    const frame = parseFrame(raw);
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
      case 'res':
      case 'ack':
      case 'subbed':
        this.settleRequest(frame);
        return;
      case 'err':
        this.handleErrorFrame(frame.id, new SssClientError(frame.code, frame.message, frame.details));
        return;
      case 'msg':
      case 'skip':
        this.subscriptions.get(frame.channel)?.receive(frame);
        return;
      case 'tell':
        this.tellListeners.emit(frame.topic, frame.data);
        return;
      case 'unsubbed': {
        const subscription = this.subscriptions.get(frame.channel);
        this.subscriptions.delete(frame.channel);
        subscription?.end({ reason: frame.reason });
        return;
      }
      default:
        // pong, a repeated hello, or a frame type from a newer server: nothing to do.
        return;
    }
  }

  private settleRequest(reply: ReplyFrame): void {
    const request = this.pending.get(reply.id);
    if (request?.sent) {
      request.settle(reply);
      return;
    }
    // A subscription whose request timed out exists on the server only: end it there too.
    if (reply.t === 'subbed' && !this.subscriptions.has(reply.channel)) {
      this.sendRaw(
        JSON.stringify({ t: 'unsub', id: this.nextRequestId++, channel: reply.channel } satisfies ClientFrame),
      );
    }
  }

  private handleErrorFrame(id: number | undefined, error: SssClientError): void {
    if (id === undefined) {
      this.reportError(error);
      return;
    }
    const request = this.pending.get(id);
    if (request?.sent) request.fail(error);
  }

  private handleDrop(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.ready = false;
    this.stopHeartbeat();
    for (const request of [...this.pending.values()]) {
      if (request.sent) {
        request.fail(
          new SssClientError(SssClientErrorCode.Disconnected, 'The connection dropped before the answer', {
            code,
            reason,
          }),
        );
      }
    }
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
    // A server going away is a planned restart: come back soon, elsewhere, without growing the backoff.
    this.scheduleReconnect(code === CloseCode.GoingAway ? this.backoff.quick() : this.backoff.next());
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

  /** Re-subscribes every live subscription from its position, then emits `reconnect`. */
  private resubscribeAll(): void {
    const generation = this.connectionGeneration;
    const rounds = [...this.subscriptions.values()].map((subscription) =>
      this.request<SssResubscriptionResult>(
        (id) => ({
          t: 'sub',
          id,
          channel: subscription.channel,
          query: subscription.query,
          since: subscription.position,
        }),
        // No timeout: a dead connection is found by the heartbeat, and the next reconnect retries.
        Infinity,
        (reply) => {
          expectReply(reply, 'subbed');
          subscription.resubscribed(reply);
          const result: SssResubscriptionResult = {
            channel: subscription.channel,
            recovered: reply.recovered === true,
          };
          if (reply.reason !== undefined) result.reason = reply.reason;
          return result;
        },
      ).catch((error: SssClientError): SssResubscriptionResult => {
        if (error.code === SssClientErrorCode.Disconnected || error.code === SssClientErrorCode.Closed) throw error;
        if (this.subscriptions.get(subscription.channel) === subscription)
          this.subscriptions.delete(subscription.channel);
        subscription.end({ reason: 'resubscribe_denied', error });
        return { channel: subscription.channel, recovered: false, error };
      }),
    );
    Promise.all(rounds).then(
      (subscriptions) => {
        if (generation !== this.connectionGeneration || !this.ready) return;
        this.events.emit('reconnect', { recovered: subscriptions.every((result) => result.recovered), subscriptions });
      },
      // The connection dropped again before the round finished; the next reconnect reports.
      () => undefined,
    );
  }

  private async unsubscribe(subscription: SssSubscription): Promise<void> {
    if (subscription.closed) return;
    if (this.subscriptions.get(subscription.channel) === subscription) this.subscriptions.delete(subscription.channel);
    subscription.end({ reason: 'unsubscribed' });
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
      const code = (caught as SssClientError).code;
      const gone: string[] = [SssClientErrorCode.Disconnected, SssClientErrorCode.Closed, ErrorCode.NotSubscribed];
      if (!gone.includes(code)) throw caught;
    }
  }

  private startHeartbeat(interval: number): void {
    this.stopHeartbeat();
    if (!(interval > 0)) return;
    const deadAfter = 2 * interval + this.heartbeatGrace;
    this.lastSentAt = this.lastReceivedAt = Date.now();
    this.heartbeatTimer = setInterval(
      () => {
        const now = Date.now();
        if (now - this.lastReceivedAt >= deadAfter) {
          this.abandonSilentConnection();
        } else if (now - this.lastSentAt >= interval) {
          this.sendRaw(PING_PAYLOAD);
        }
      },
      Math.max(1, Math.floor(interval / 2)),
    );
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** The server went silent: its closing handshake would never finish, so drop the socket outright. */
  private abandonSilentConnection(): void {
    const socket = this.socket;
    if (!socket) return;
    discard(socket);
    this.handleDrop(socket, ABNORMAL_CLOSURE, 'heartbeat timeout');
  }

  /** Ends everything for good: timers, requests, subscriptions; status `closed`. */
  private shutDown(error: SssClientError, subscriptionReason: string): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopHeartbeat();
    this.ready = false;
    for (const request of [...this.pending.values()]) request.fail(error);
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

function parseFrame(raw: unknown): ServerFrame | undefined {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) text = new TextDecoder().decode(raw);
  else return undefined;
  try {
    const frame: unknown = JSON.parse(text);
    if (typeof frame === 'object' && frame !== null && typeof (frame as { t?: unknown }).t === 'string') {
      return frame as ServerFrame;
    }
  } catch {
    // Not JSON: reported as unreadable below.
  }
  return undefined;
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

/** Reads the HTTP status `ws` puts in its handshake errors; browsers give no details. */
function errorFromSocketEvent(event: unknown): SssClientError {
  const detail = event as { message?: unknown; error?: { message?: unknown } } | undefined;
  const message = typeof detail?.message === 'string' ? detail.message : detail?.error?.message;
  const text = typeof message === 'string' && message !== '' ? message : 'The WebSocket connection failed';
  const status = HANDSHAKE_STATUS_PATTERN.exec(text)?.[1];
  if (status !== undefined) {
    return new SssClientError(
      SssClientErrorCode.HandshakeRejected,
      `The server rejected the handshake: ${text}`,
      undefined,
      {
        status: Number(status),
        cause: detail?.error,
      },
    );
  }
  return new SssClientError(SssClientErrorCode.ConnectFailed, text, undefined, { cause: detail?.error });
}

function errorFromEarlyClose(code: number, reason: string, socketError: SssClientError | undefined): SssClientError {
  if (code === CloseCode.Booted)
    return new SssClientError(SssClientErrorCode.Booted, `Booted by the server: ${reason}`, { reason });
  if (code === CloseCode.UnsupportedVersion) return unsupportedVersionError(reason);
  return (
    socketError ??
    new SssClientError(SssClientErrorCode.ConnectFailed, `Closed before hello (code ${code})`, { code, reason })
  );
}

function unsupportedVersionError(reason: string): SssClientError {
  return new SssClientError(
    SssClientErrorCode.UnsupportedVersion,
    `The server does not speak protocol version ${PROTOCOL_VERSION}: ${reason}`,
    { reason, version: PROTOCOL_VERSION },
  );
}

/** Forgets a socket and drops it without a closing handshake. */
function discard(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  // `ws` throws an 'error' event that has no listener, so keep one.
  socket.onerror = () => undefined;
  try {
    if (socket.terminate) socket.terminate();
    else socket.close();
  } catch {
    // Already closed.
  }
}

/** Closes with code 1000 and waits for the closing handshake, dropping the socket if it takes too long. */
function closeGracefully(socket: WebSocketLike): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      discard(socket);
      resolve();
    }, CLOSE_HANDSHAKE_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.onmessage = null;
    socket.onerror = () => undefined;
    socket.onclose = done;
    try {
      socket.close(CloseCode.Normal);
    } catch {
      done();
      return;
    }
    if (socket.readyState === READY_STATE_CLOSED) done();
  });
}
