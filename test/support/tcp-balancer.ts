import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './free-port.js';

/**
 * A round-robin TCP load balancer without stickiness, standing in for nginx or a cloud balancer:
 * each new connection goes to the next live backend. `cut()` drops every open connection, as a
 * network blip would; `down()`/`up()` make the balancer itself unreachable, e.g. in front of a store.
 */
export class TcpBalancer {
  private server?: Server;
  private readonly connections = new Set<Socket>();
  private next = 0;

  private constructor(
    readonly port: number,
    public backends: number[],
  ) {}

  static async start(backends: number[], port?: number): Promise<TcpBalancer> {
    const balancer = new TcpBalancer(port ?? (await freePort()), backends);
    await balancer.up();
    return balancer;
  }

  up(): Promise<void> {
    const server = createServer((client) => this.forward(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** Stops accepting and drops every open connection. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Drops every open connection (both sides), accepting new ones. */
  cut(): void {
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
  }

  private forward(client: Socket): void {
    if (this.backends.length === 0) return void client.destroy();
    const port = this.backends[this.next++ % this.backends.length];
    const backend = connect(port, '127.0.0.1');
    for (const [from, to] of [
      [client, backend],
      [backend, client],
    ] as const) {
      this.connections.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.connections.delete(from);
        to.destroy();
      });
    }
  }
}
