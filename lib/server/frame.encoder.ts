/**
 * @internal A frame serialized once for every socket it goes to; encoded as a WebSocket frame on
 * first use, so that each further socket costs one write of the same buffer.
 */
export class SharedFrame {
  private encoded?: Buffer;

  constructor(readonly text: string) {}

  get bytes(): Buffer {
    return (this.encoded ??= encodeTextFrame(this.text));
  }
}

/** A complete server-to-client text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked) holding `text`. */
export function encodeTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (headerLength === 2) {
    frame[1] = length;
  } else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, headerLength);
  return frame;
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8 (close reasons are limited to 123). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (Buffer.byteLength(text.slice(0, end)) > maxBytes) end--;
  return text.slice(0, end);
}
