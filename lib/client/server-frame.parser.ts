import type { ServerFrame } from '../protocol/frames.js';

let textDecoder: TextDecoder | undefined;

/** Reads one server frame from a WebSocket message; undefined when it is not a JSON object with a `t`. */
export function parseServerFrame(raw: unknown): ServerFrame | undefined {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw))
    text = (textDecoder ??= new TextDecoder()).decode(raw);
  else return undefined;
  try {
    const frame: unknown = JSON.parse(text);
    if (typeof frame === 'object' && frame !== null && typeof (frame as { t?: unknown }).t === 'string') {
      return frame as ServerFrame;
    }
  } catch {
    // Not JSON: the caller reports it as unreadable.
  }
  return undefined;
}
