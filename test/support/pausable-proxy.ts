import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of one backend that can stop reading what the backend sends, as a client
 * on a congested network or a frozen browser tab would: the backend's writes then queue up.
 */
export class PausableProxy {
  private readonly backendSockets = new Set<Socket>();
  private paused = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(backendPort: number): Promise<PausableProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new PausableProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.forward(client, backendPort));
    return proxy;
  }

  /** Stops reading from the backend. */
  pause(): void {
    this.paused = true;
    for (const socket of this.backendSockets) socket.pause();
  }

  /** Reads from the backend again (what it queued, then its close if it closed meanwhile). */
  resume(): void {
    this.paused = false;
    for (const socket of this.backendSockets) socket.resume();
  }

  async stop(): Promise<void> {
    for (const socket of this.backendSockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private forward(client: Socket, backendPort: number): void {
    const backend = connect(backendPort, '127.0.0.1');
    this.backendSockets.add(backend);
    if (this.paused) backend.pause();
    client.pipe(backend);
    backend.on('data', (chunk: Buffer) => client.write(chunk));
    backend.on('end', () => client.end());
    backend.on('close', () => this.backendSockets.delete(backend));
    client.on('close', () => backend.destroy());
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.destroy());
  }
}
