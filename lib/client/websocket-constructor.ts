import type { WebSocketConstructor } from './sss-client-options.interface.js';

interface NodeGlobals {
  process?: { versions?: { node?: string } };
  WebSocket?: unknown;
}

/** Whether this runs on Node (or a runtime that mimics it), where upgrade headers can be set. */
export function isNodeRuntime(): boolean {
  return typeof (globalThis as NodeGlobals).process?.versions?.node === 'string';
}

/** Loads the `ws` package's WebSocket; rejects when it is not installed. */
export async function importWs(): Promise<WebSocketConstructor> {
  const wsModule = (await import('ws')) as { WebSocket?: unknown; default?: unknown };
  const WebSocket = wsModule.WebSocket ?? wsModule.default;
  if (typeof WebSocket !== 'function') throw new Error('The `ws` module has no WebSocket export');
  return WebSocket as WebSocketConstructor;
}

/**
 * Picks the WebSocket implementation: the explicit one; in Node, `ws` when it can be imported (it
 * reports the HTTP status of a refused upgrade and sends headers; Node's global WebSocket does
 * neither), else the global one; in browsers, the global one.
 * `ws` is imported dynamically, and only in Node, so browser bundlers can mark it external.
 *
 * @param loadWs how `ws` is loaded (tests replace it).
 */
export async function resolveWebSocketConstructor(
  explicit: WebSocketConstructor | undefined,
  wantsHeaders: boolean,
  loadWs: () => Promise<WebSocketConstructor> = importWs,
): Promise<WebSocketConstructor> {
  if (explicit) return explicit;
  const globalWebSocket = (globalThis as NodeGlobals).WebSocket;
  const hasGlobal = typeof globalWebSocket === 'function';
  if (!isNodeRuntime()) {
    if (hasGlobal) return globalWebSocket as WebSocketConstructor;
    return loadWs();
  }
  try {
    return await loadWs();
  } catch (error) {
    // Without `ws`, the global one cannot send the upgrade headers the application asked for.
    if (!hasGlobal || wantsHeaders) throw error;
    return globalWebSocket as WebSocketConstructor;
  }
}
