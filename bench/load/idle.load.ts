import { BenchConnection, forEachLimited } from './bench-connection.js';
import type { IdleOpenParams } from './load-params.js';
import { wireProtocols } from './wire-protocols.js';

/** Idle connections the load generator holds open while the runner measures the server's memory. */
export class IdlePool {
  private readonly connections: BenchConnection[] = [];

  /** Opens `count` connections (each past its handshake); resolves with how many are open. */
  async open(params: IdleOpenParams): Promise<number> {
    const protocol = wireProtocols[params.target];
    await forEachLimited(Array.from({ length: params.count }), 64, async () => {
      this.connections.push(await BenchConnection.open(protocol, params.origin));
    });
    return this.connections.filter((connection) => connection.isOpen).length;
  }

  /** Closes every connection with a closing handshake. */
  async closeAll(): Promise<void> {
    await Promise.all(this.connections.splice(0).map((connection) => connection.close()));
  }
}
