import type { INestApplication } from '@nestjs/common';
import { SocketRegistry } from '../../../lib/server/socket.registry.js';

/** Cuts a client's connection from the server side without a close frame, as a network drop would. */
export function dropConnection(app: INestApplication, socketId: string | undefined): void {
  for (const socket of app.get(SocketRegistry, { strict: false }).all()) {
    if (socket.id === socketId) return socket.terminate();
  }
  throw new Error(`no socket ${socketId} on this instance`);
}
