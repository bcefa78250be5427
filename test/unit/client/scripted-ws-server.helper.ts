import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws';
import type { ClientFrame, HelloFrame, ServerFrame } from '../../../lib/protocol/frames.js';

/** How a scripted server behaves unless a test says otherwise. */
export interface ScriptedServerOptions {
  /** Send `hello` as soon as a client connects. Default: true. */
  autoHello?: boolean;
  /** The `hello.heartbeat` value. Default: 30_000. */
  heartbeat?: number;
  /** Answer `ping` with `pong`. Default: true. */
  autoPong?: boolean;
  /** Passed to `WebSocketServer` (to reject handshakes). */
  verifyClient?: ServerOptions['verifyClient'];
}

/** One client connection as the scripted server sees it. */
export class ScriptedConnection {
  /** Every frame received, pings included, in order. */
  readonly received: ClientFrame[] = [];
  /** Whether the server still answers pings (tests turn it off to play dead). */
  autoPong: boolean;
  private readonly unread: ClientFrame[] = [];
  private readonly waiters: { type: ClientFrame['t']; resolve: (frame: ClientFrame) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(
    readonly socket: WebSocket,
    readonly request: IncomingMessage,
    autoPong: boolean,
  ) {
    this.autoPong = autoPong;
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ClientFrame;
      this.received.push(frame);
      if (frame.t === 'ping' && this.autoPong) this.send({ t: 'pong' });
      const waiter = this.waiters.findIndex((candidate) => candidate.type === frame.t);
      if (waiter >= 0) this.waiters.splice(waiter, 1)[0]!.resolve(frame);
      else this.unread.push(frame);
    });
  }

  /** The query string the client connected with. */
  get url(): URL {
    return new URL(this.request.url ?? '/', 'ws://localhost');
  }

  /** Resolves with the next unread frame of a type (earlier unread frames of other types stay). */
  next<T extends ClientFrame['t']>(type: T): Promise<Extract<ClientFrame, { t: T }>> {
    const index = this.unread.findIndex((frame) => frame.t === type);
    if (index >= 0) return Promise.resolve(this.unread.splice(index, 1)[0] as Extract<ClientFrame, { t: T }>);
    return new Promise((resolve) => this.waiters.push({ type, resolve: resolve as (frame: ClientFrame) => void }));
  }

  /** Sends one frame. */
  send(frame: ServerFrame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends several frames in one synchronous burst. */
  sendAll(frames: ServerFrame[]): void {
    for (const frame of frames) this.send(frame);
  }

  /** Sends `hello`. */
  hello(overrides: Partial<HelloFrame> = {}): void {
    this.send({ t: 'hello', v: 1, socketId: 'socket-1', heartbeat: 30_000, ...overrides });
  }
}

/** A real `ws` server on a random port that speaks the protocol only as the test scripts it. */
export class ScriptedServer {
  readonly connections: ScriptedConnection[] = [];
  private readonly waiters: ((connection: ScriptedConnection) => void)[] = [];
  private helloCount = 0;

  private constructor(
    private readonly server: WebSocketServer,
    private readonly options: ScriptedServerOptions,
  ) {
    server.on('connection', (socket, request) => {
      const connection = new ScriptedConnection(socket, request, options.autoPong ?? true);
      this.connections.push(connection);
      if (options.autoHello ?? true) {
        this.helloCount += 1;
        connection.hello({ socketId: `socket-${this.helloCount}`, heartbeat: options.heartbeat ?? 30_000 });
      }
      for (const waiter of this.waiters.splice(0)) waiter(connection);
    });
  }

  /** Starts a server on a free port. */
  static start(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({ port: 0, verifyClient: options.verifyClient });
      server.once('error', reject);
      server.once('listening', () => resolve(new ScriptedServer(server, options)));
    });
  }

  /** The URL a client connects to. */
  get url(): string {
    const address = this.server.address();
    if (typeof address === 'string' || address === null) throw new Error('not listening');
    return `ws://127.0.0.1:${address.port}/sss`;
  }

  /** Resolves with connection number `index` (0-based) once it exists. */
  connection(index: number): Promise<ScriptedConnection> {
    const existing = this.connections[index];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => {
      // Re-queues itself until the connection with that index arrived.
      const check = () => {
        const found = this.connections[index];
        if (found) resolve(found);
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** Drops every connection and stops listening. */
  close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
