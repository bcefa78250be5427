import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  HttpException,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ResolvedSssOptions } from '../interfaces/resolved-options.interface.js';
import type { SssHandshake } from '../interfaces/sss-handshake.interface.js';
import { CloseCode, ErrorCode, PROTOCOL_VERSION, type HelloFrame } from '../protocol/frames.js';
import { FrameRouter } from '../router/frame.router.js';
import { ChannelHub } from '../channels/channel.hub.js';
import { CredentialRefresher, isValidExpiry } from '../credentials/credential-refresher.js';
import type { Scaler } from '../scaler/scaler.interface.js';
import type { SssMetricsRecorder, UpgradeRefusal } from '../metrics/sss-metrics.recorder.js';
import { SSS_METRICS, SSS_RESOLVED_OPTIONS, SSS_SCALER } from '../sss.constants.js';
import { SssMessages } from '../sss.messages.js';
import { LifecycleDispatcher } from '../lifecycle/lifecycle.dispatcher.js';
import { clientAddressResolver, type ClientAddressResolver } from './client-address.js';
import { SessionGuardRunner } from './session-guard.runner.js';
import { SocketRegistry } from './socket.registry.js';
import { SssSocket, type SocketRuntime } from './sss-socket.js';
import { SSS_UPGRADE } from './sss-upgrade.marker.js';

/**
 * Where a connection enters: it takes the HTTP upgrades on our path (leaving every other path to
 * whoever else listens), runs the session guards before any 101 is sent, and owns the sockets of
 * this instance from hello to close, heartbeat and shutdown included.
 */
@Injectable()
export class SssServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SssServer');
  private readonly socketsPerAddress = new Map<string, number>();
  private readonly runtime: SocketRuntime;
  private readonly clientAddress: ClientAddressResolver;
  private httpServer?: Server;
  private wss?: WebSocketServer;
  private heartbeatTimer?: NodeJS.Timeout;
  private closing = false;
  /** Set while shutting down: resolves the wait for the last socket to close. */
  private onLastSocketClosed?: () => void;

  constructor(
    @Inject(SSS_RESOLVED_OPTIONS) private readonly options: ResolvedSssOptions,
    @Inject(SSS_SCALER) scaler: Scaler,
    private readonly adapterHost: HttpAdapterHost,
    private readonly sessionGuards: SessionGuardRunner,
    private readonly router: FrameRouter,
    private readonly hub: ChannelHub,
    private readonly sockets: SocketRegistry,
    private readonly lifecycle: LifecycleDispatcher,
    @Inject(SSS_METRICS) private readonly metrics: SssMetricsRecorder,
    private readonly credentials: CredentialRefresher,
  ) {
    const { maxBufferedBytes, messagesPerSecond } = options.limits;
    this.runtime = { scaler, maxBufferedBytes, messagesPerSecond, metrics };
    this.clientAddress = clientAddressResolver(options.trustProxy);
  }

  onApplicationBootstrap(): void {
    // A publisher-only app (createApplicationContext) has no HTTP server: nothing to serve.
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!httpServer) return;
    this.httpServer = httpServer;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.options.limits.maxFrameBytes,
      // Control pings are answered by the router, within the socket's budget.
      autoPong: false,
    });
    // First in line, so that the request is marked as ours before other upgrade listeners see it.
    httpServer.prependListener('upgrade', this.onUpgrade);
    this.heartbeatTimer = setInterval(() => this.dropSilentSockets(), this.options.heartbeatInterval);
    this.heartbeatTimer.unref();
  }

  /** Whether the server is shutting down (refusing upgrades, closing sockets): not ready for traffic. */
  get draining(): boolean {
    return this.closing;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeatTimer);
    this.httpServer?.off('upgrade', this.onUpgrade);
    if (this.sockets.size > 0) {
      const allClosed = new Promise<void>((resolve) => (this.onLastSocketClosed = resolve));
      for (const socket of this.sockets.all()) socket.close(CloseCode.GoingAway, SssMessages.shuttingDown);
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.shutdownTimeout).unref());
      await Promise.race([allClosed, timeout]);
      for (const socket of [...this.sockets.all()]) socket.terminate();
    }
    this.wss?.close();
  }

  /**
   * The listeners of every connection, shared: `this` is the connection, which carries its socket.
   * NOTE: closures per connection (and their scopes, and `once` wrappers) cost ~0.5 KB of heap per
   * idle connection, about as much as the rest of what this server adds to ws.
   */
  private readonly listeners = sharedListeners({
    receive: (socket, data, isBinary) => this.receive(socket, data, isBinary),
    control: (socket, kind, answer) => this.router.control(socket, kind, answer),
    disconnected: (socket, code, reason) => this.disconnected(socket, code, reason),
    failed: (socket, error) => this.logger.debug?.(`socket ${socket.id}: ${error.message}`),
    releaseAddress: (address) => this.releaseAddress(address),
  });

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const pathname = queryStart === -1 ? url : url.slice(0, queryStart);
    if (pathname !== this.options.path) {
      // Another listener (a @nestjs/platform-ws gateway, for example) may serve this path; when
      // there is none, Node would neither answer nor close the connection.
      if (this.httpServer && this.httpServer.listenerCount('upgrade') > 1) return;
      socket.on('error', destroySelf);
      return this.refuse(socket, 'not_found', 404, SssMessages.noEndpointAtPath);
    }
    (request as unknown as Record<symbol, boolean>)[SSS_UPGRADE] = true;
    void this.upgrade(request, socket, head);
  };

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // The client may vanish while the guards run; its socket's errors must not crash the process.
    socket.on('error', destroySelf);
    if (this.closing) return this.refuse(socket, 'draining', 503, SssMessages.shuttingDown);
    if (!this.isOriginAllowed(request)) return this.refuse(socket, 'origin', 403, SssMessages.originNotAllowed);
    const address = this.clientAddress(request);
    const { maxSocketsPerAddress } = this.options.limits;
    const openFromAddress = this.socketsPerAddress.get(address) ?? 0;
    if (maxSocketsPerAddress > 0 && openFromAddress >= maxSocketsPerAddress) {
      return this.refuse(socket, 'address_limit', 429, SssMessages.tooManySocketsPerAddress);
    }
    this.countAddress(socket, address, openFromAddress);
    const handshake: SssHandshake = { request, address, locals: {} };
    try {
      await this.checkSession(handshake);
    } catch (error) {
      const [status, message] = this.describeRejection(error);
      return this.refuse(socket, status === 500 ? 'session_error' : 'session_refused', status, message);
    }
    if (!isValidExpiry(handshake.expiresAt)) {
      this.logger.error(SssMessages.invalidExpiry(String(handshake.expiresAt)));
      return rejectUpgrade(socket, 500, SssMessages.internal);
    }
    if (socket.destroyed) return;
    if (this.closing || !this.wss) return this.refuse(socket, 'draining', 503, SssMessages.shuttingDown);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      // From now on ws listens to the socket's errors, and the address is released when the
      // WebSocket closes (one listener less per connection).
      socket.off('error', destroySelf);
      socket.off('close', this.listeners.releaseAddress);
      this.accept(ws, handshake);
    });
  }

  private accept(ws: WebSocket, handshake: SssHandshake): void {
    const requestedVersion = new URL(handshake.request.url ?? '/', 'http://localhost').searchParams.get('v');
    const socket = new SssSocket(randomUUID(), ws, handshake, this.runtime);
    (ws as ServedWebSocket)[SERVED_SOCKET] = socket;
    ws.on('error', this.listeners.error);
    if (requestedVersion !== null && requestedVersion !== String(PROTOCOL_VERSION)) {
      this.releaseAddress(socket.address);
      this.metrics.upgradeRefused('unsupported_version');
      socket.close(CloseCode.UnsupportedVersion, SssMessages.unsupportedVersion(requestedVersion, PROTOCOL_VERSION));
      return;
    }
    this.sockets.add(socket);
    this.credentials.track(socket, handshake.request, handshake.expiresAt);
    ws.on('message', this.listeners.message);
    ws.on('ping', this.listeners.ping);
    ws.on('pong', this.listeners.pong);
    ws.on('close', this.listeners.close);
    const hello: HelloFrame = {
      t: 'hello',
      v: PROTOCOL_VERSION,
      socketId: socket.id,
      heartbeat: this.options.heartbeatInterval,
    };
    if (socket.userId !== undefined) hello.userId = socket.userId;
    if (socket.sessionId !== undefined) hello.sessionId = socket.sessionId;
    socket.send(hello);
    this.lifecycle.connected(socket);
  }

  /**
   * The boundary between the network and the router: whatever happens while a frame is handled,
   * nothing escapes this listener (an exception here would end the process). The router answers
   * every frame itself; this only catches what it failed to.
   */
  private receive(socket: SssSocket, data: RawData, isBinary: boolean): void {
    this.metrics.frameIn();
    try {
      this.router.route(socket, data, isBinary);
    } catch (error) {
      this.logger.error(SssMessages.listenerFailed, error instanceof Error ? error.stack : typeof error);
      try {
        socket.sendRaw(JSON.stringify({ t: 'err', code: ErrorCode.Internal, message: SssMessages.internal }));
      } catch {
        socket.terminate();
      }
    }
  }

  private disconnected(socket: SssSocket, code: number, reason: string): void {
    this.releaseAddress(socket.address);
    this.sockets.remove(socket);
    this.credentials.untrack(socket);
    for (const subscription of [...socket.subscriptions.values()]) this.hub.detach(subscription);
    this.lifecycle.disconnected(socket, { code, reason });
    if (this.sockets.size === 0) this.onLastSocketClosed?.();
  }

  private dropSilentSockets(): void {
    const silentSince = Date.now() - 2 * this.options.heartbeatInterval;
    for (const socket of this.sockets.all()) {
      if (socket.lastSeenAt < silentSince) socket.terminate();
    }
  }

  /** Runs the session guards, which have `limits.handlerTimeout` to decide. */
  private async checkSession(handshake: SssHandshake): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new ServiceUnavailableException(SssMessages.sessionCheckTimeout)),
        this.options.limits.handlerTimeout,
      );
    });
    try {
      await Promise.race([this.sessionGuards.check(handshake), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private isOriginAllowed(request: IncomingMessage): boolean {
    const allowed = this.options.allowedOrigins;
    if (allowed === undefined) return true;
    const origin = request.headers.origin;
    if (typeof allowed === 'function') {
      try {
        return allowed(origin) === true;
      } catch (error) {
        this.logger.error('allowedOrigins threw; the upgrade was refused', error instanceof Error ? error.stack : '');
        return false;
      }
    }
    // Browsers always send Origin; other clients can send anything, so a missing one proves nothing.
    if (origin === undefined) return true;
    const normalized = origin.toLowerCase();
    return allowed.some((entry) => entry.toLowerCase() === normalized);
  }

  /**
   * Counts a connection against its address from now on, so that upgrades racing through the
   * guards cannot exceed the limit; released when the connection closes, whether or not it became
   * a WebSocket (then by `disconnected()`). The address is kept on the connection for the shared
   * listener: a closure would share `upgrade()`'s scope, which holds the whole HTTP request.
   */
  private countAddress(socket: Duplex, address: string, openFromAddress: number): void {
    this.socketsPerAddress.set(address, openFromAddress + 1);
    (socket as CountedSocket)[COUNTED_ADDRESS] = address;
    socket.on('close', this.listeners.releaseAddress);
  }

  private releaseAddress(address: string): void {
    const count = (this.socketsPerAddress.get(address) ?? 1) - 1;
    if (count > 0) this.socketsPerAddress.set(address, count);
    else this.socketsPerAddress.delete(address);
  }

  private refuse(socket: Duplex, reason: UpgradeRefusal, status: number, message: string): void {
    this.metrics.upgradeRefused(reason);
    rejectUpgrade(socket, status, message);
  }

  private describeRejection(error: unknown): [number, string] {
    if (error instanceof HttpException) return [error.getStatus(), error.message];
    this.logger.error('A session guard failed', error instanceof Error ? error.stack : String(error));
    return [500, SssMessages.internal];
  }
}

function noAnswer(): void {}

const SERVED_SOCKET = Symbol('sss:socket');
const COUNTED_ADDRESS = Symbol('sss:address');
type ServedWebSocket = WebSocket & { [SERVED_SOCKET]: SssSocket };
type CountedSocket = Duplex & { [COUNTED_ADDRESS]?: string };

interface ConnectionHandlers {
  receive(socket: SssSocket, data: RawData, isBinary: boolean): void;
  control(socket: SssSocket, kind: 'ping' | 'pong', answer: () => void): void;
  disconnected(socket: SssSocket, code: number, reason: string): void;
  failed(socket: SssSocket, error: Error): void;
  releaseAddress(address: string): void;
}

function socketOf(ws: WebSocket): SssSocket {
  return (ws as ServedWebSocket)[SERVED_SOCKET];
}

/** One function per event for every connection; each finds its socket on `this`. */
function sharedListeners(handlers: ConnectionHandlers) {
  return {
    message(this: WebSocket, data: RawData, isBinary: boolean): void {
      handlers.receive(socketOf(this), data, isBinary);
    },
    ping(this: WebSocket, data: Buffer): void {
      handlers.control(socketOf(this), 'ping', () => this.pong(data));
    },
    pong(this: WebSocket): void {
      handlers.control(socketOf(this), 'pong', noAnswer);
    },
    close(this: WebSocket, code: number, reason: Buffer): void {
      handlers.disconnected(socketOf(this), code, reason.toString());
    },
    error(this: WebSocket, error: Error): void {
      handlers.failed(socketOf(this), error);
    },
    releaseAddress(this: CountedSocket): void {
      const address = this[COUNTED_ADDRESS];
      if (address === undefined) return;
      this[COUNTED_ADDRESS] = undefined;
      handlers.releaseAddress(address);
    },
  };
}

/** An 'error' listener that shares no closure scope (see `countAddress`). */
function destroySelf(this: Duplex): void {
  this.destroy();
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = Buffer.from(message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${body.length}\r\n\r\n${message}`,
  );
  socket.destroy();
}
