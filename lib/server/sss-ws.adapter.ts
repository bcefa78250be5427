import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WsAdapter } from '@nestjs/platform-ws';
import { SSS_UPGRADE } from './sss-upgrade.marker.js';

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * `WsAdapter` from `@nestjs/platform-ws`, except that it leaves SssModule's upgrades alone (the
 * original destroys every upgrade on a path it does not serve). Use it instead of `WsAdapter` when
 * an app keeps `@WebSocketGateway` gateways beside SssModule.
 *
 * @example
 * ```ts
 * app.useWebSocketAdapter(new SssWsAdapter(app));
 * ```
 */
export class SssWsAdapter extends WsAdapter {
  private readonly wrappedListeners: Array<{ server: Server; listener: UpgradeListener }> = [];

  protected override ensureHttpServerExists(port: number, httpServer?: Server): Server | undefined {
    const server = httpServer ?? this.httpServersRegistry.get(port);
    const before = new Set(server?.listeners('upgrade') ?? []);
    const result = super.ensureHttpServerExists(port, httpServer);
    const target = (httpServer ?? result) as Server | undefined;
    if (!target) return result;
    for (const original of target.listeners('upgrade') as UpgradeListener[]) {
      if (before.has(original)) continue;
      const listener: UpgradeListener = (request, socket, head) => {
        if ((request as unknown as Record<symbol, unknown>)[SSS_UPGRADE]) return;
        original(request, socket, head);
      };
      target.off('upgrade', original);
      target.on('upgrade', listener);
      this.wrappedListeners.push({ server: target, listener });
    }
    return result;
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    for (const { server, listener } of this.wrappedListeners.splice(0)) server.off('upgrade', listener);
  }
}
