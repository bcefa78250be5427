import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A WebSocket connection spoken byte by byte, for floods and malformed wire data. */
export interface RawWire {
  socket: Socket;
  /** The response head: `HTTP/1.1 101 ...` when the upgrade succeeded. */
  status: number;
  /** Bytes the server sent after the response head. */
  received: Buffer[];
}

/**
 * Opens a TCP connection to `url` (ws://host:port/path) and sends an upgrade request. Resolves with
 * the status of the answer, or 0 if the server closed without one within `timeoutMs`.
 */
export function openRawWire(url: string, headers: Record<string, string> = {}, timeoutMs = 3_000): Promise<RawWire> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let head = Buffer.alloc(0);
    let settled = false;
    const finish = (status: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ socket, status, received });
    };
    const timer = setTimeout(() => finish(0), timeoutMs);
    socket.on('error', (error) => (settled ? undefined : reject(error)));
    socket.on('close', () => finish(0));
    socket.on('data', (chunk: Buffer) => {
      if (settled) return received.push(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const rest = head.subarray(end + 4);
      if (rest.length > 0) received.push(rest);
      finish(Number(/^HTTP\/1\.1 (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0));
    });
    const lines = [
      `GET ${pathname}${search} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** WebSocket opcodes (RFC 6455 §5.2). */
export const Opcode = { Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** One complete client frame (masked, as RFC 6455 requires of clients) with `payload`. */
export function clientFrame(opcode: number, payload: Buffer | string, { fin = true } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = data.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.alloc(headerLength + 4 + length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (headerLength === 2) {
    frame[1] = 0x80 | length;
  } else if (headerLength === 4) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, headerLength);
  for (let index = 0; index < length; index++) frame[headerLength + 4 + index] = data[index] ^ mask[index & 3];
  return frame;
}

/** Reads the text frames of a server's unmasked byte stream (fragments and control frames ignored). */
export function serverTextFrames(bytes: Buffer): string[] {
  const texts: string[] = [];
  let offset = 0;
  while (offset + 2 <= bytes.length) {
    const opcode = bytes[offset] & 0x0f;
    let length = bytes[offset + 1] & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset + 2);
      start += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset + 2));
      start += 8;
    }
    if (start + length > bytes.length) break;
    if (opcode === Opcode.Text) texts.push(bytes.subarray(start, start + length).toString());
    offset = start + length;
  }
  return texts;
}

/** The code of the first close frame in a server's byte stream, if there is one. */
export function serverCloseCode(bytes: Buffer): number | undefined {
  let offset = 0;
  while (offset + 2 <= bytes.length) {
    const opcode = bytes[offset] & 0x0f;
    let length = bytes[offset + 1] & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset + 2);
      start += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset + 2));
      start += 8;
    }
    if (start + length > bytes.length) return undefined;
    if (opcode === Opcode.Close) return length >= 2 ? bytes.readUInt16BE(start) : 1005;
    offset = start + length;
  }
  return undefined;
}

/** A server frame as read off the wire. */
export interface WireFrame {
  opcode: number;
  payload: Buffer;
}

/** Reads a server's (unmasked) frames from a byte stream that arrives in arbitrary chunks. */
export class ServerFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): WireFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: WireFrame[] = [];
    let offset = 0;
    while (offset + 2 <= this.pending.length) {
      let length = this.pending[offset + 1] & 0x7f;
      let start = offset + 2;
      if (length === 126) {
        if (offset + 4 > this.pending.length) break;
        length = this.pending.readUInt16BE(offset + 2);
        start += 2;
      } else if (length === 127) {
        if (offset + 10 > this.pending.length) break;
        length = Number(this.pending.readBigUInt64BE(offset + 2));
        start += 8;
      }
      if (start + length > this.pending.length) break;
      frames.push({ opcode: this.pending[offset] & 0x0f, payload: this.pending.subarray(start, start + length) });
      offset = start + length;
    }
    this.pending = this.pending.subarray(offset);
    return frames;
  }
}
