import type { WebSocketConstructor } from './sss-client-options.interface.js';

interface NodeGlobals {
  process?: { versions?: { node?: string } };
  WebSocket?: unknown;
}

/** Whether this runs on Node (or a runtime that mimics it), where upgrade headers can be set. */
export function isNodeRuntime(): boolean {
  return typeof (globalThis as NodeGlobals).process?.versions?.node === 'string';
}

/**
 * Picks the WebSocket implementation: the explicit one, else the global one (browsers, Node 22+),
 * else `ws`. With upgrade headers on Node, `ws` wins over the global, which cannot send them.
 * `ws` is imported dynamically so browser bundlers can mark it external.
 */
export async function resolveWebSocketConstructor(
  explicit: WebSocketConstructor | undefined,
  wantsHeaders: boolean,
): Promise<WebSocketConstructor> {
  if (explicit) return explicit;
  const globalWebSocket = (globalThis as NodeGlobals).WebSocket;
  if (typeof globalWebSocket === 'function' && !(wantsHeaders && isNodeRuntime())) {
    return globalWebSocket as WebSocketConstructor;
  }
  const wsModule = (await import('ws')) as { WebSocket?: unknown; default?: unknown };
  return (wsModule.WebSocket ?? wsModule.default) as WebSocketConstructor;
}
