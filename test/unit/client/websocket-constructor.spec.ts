import { WebSocket as WsWebSocket } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SssClient, type WebSocketConstructor } from '../../../lib/client/index.js';
import { resolveWebSocketConstructor } from '../../../lib/client/websocket-constructor.js';
import { ScriptedServer } from './scripted-ws-server.helper.js';

/** Stands for Node's global WebSocket (Node 22+), which reports a refused upgrade without its status. */
class GlobalWebSocket {
  static readonly constructed: string[] = [];
  constructor(url: string) {
    GlobalWebSocket.constructed.push(url);
    throw new Error('the global WebSocket should not be used');
  }
}
const globalWebSocket = GlobalWebSocket as unknown as WebSocketConstructor;
const missingWs = () => Promise.reject(new Error("Cannot find package 'ws'"));

afterEach(() => {
  vi.unstubAllGlobals();
  GlobalWebSocket.constructed.length = 0;
});

describe('resolveWebSocketConstructor', () => {
  it('uses the explicit implementation first', async () => {
    vi.stubGlobal('WebSocket', globalWebSocket);
    await expect(resolveWebSocketConstructor(globalWebSocket, true, missingWs)).resolves.toBe(globalWebSocket);
  });

  it('prefers ws over the global WebSocket in Node', async () => {
    vi.stubGlobal('WebSocket', globalWebSocket);
    await expect(resolveWebSocketConstructor(undefined, false)).resolves.toBe(WsWebSocket);
  });

  it('falls back to the global WebSocket in Node when ws cannot be imported', async () => {
    vi.stubGlobal('WebSocket', globalWebSocket);
    await expect(resolveWebSocketConstructor(undefined, false, missingWs)).resolves.toBe(globalWebSocket);
  });

  it('fails without ws when headers are wanted, since the global WebSocket cannot send them', async () => {
    vi.stubGlobal('WebSocket', globalWebSocket);
    await expect(resolveWebSocketConstructor(undefined, true, missingWs)).rejects.toThrow("Cannot find package 'ws'");
  });

  it('fails without ws and without a global WebSocket', async () => {
    vi.stubGlobal('WebSocket', undefined);
    await expect(resolveWebSocketConstructor(undefined, false, missingWs)).rejects.toThrow();
  });

  it('uses the global WebSocket in browsers and never loads ws there', async () => {
    vi.stubGlobal('WebSocket', globalWebSocket);
    vi.stubGlobal('process', undefined);
    const loadWs = vi.fn(missingWs);
    const resolved = await resolveWebSocketConstructor(undefined, false, loadWs);
    vi.unstubAllGlobals();
    expect(resolved).toBe(globalWebSocket);
    expect(loadWs).not.toHaveBeenCalled();
  });
});

describe('SssClient in Node with a global WebSocket', () => {
  it('connects with ws, so a refused upgrade is HANDSHAKE_REJECTED with its HTTP status', async () => {
    vi.stubGlobal('WebSocket', globalWebSocket);
    const server = await ScriptedServer.start({
      verifyClient: (_info, callback) => callback(false, 403, 'Forbidden'),
    });
    const client = new SssClient(server.url, { reconnect: false });
    try {
      await expect(client.connect()).rejects.toMatchObject({ code: 'HANDSHAKE_REJECTED', status: 403 });
      expect(GlobalWebSocket.constructed).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
