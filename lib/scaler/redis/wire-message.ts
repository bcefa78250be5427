import type { ScalerMessage } from '../scaler.interface.js';

/** A channel message as published on Redis (short keys: it crosses the network once per instance). */
export interface WireMessage {
  /** seq */
  s: number;
  /** epoch */
  e: string;
  /** channel */
  c: string;
  /** topic */
  t: string;
  /** data */
  d?: unknown;
  /** socket id excluded from live delivery */
  x?: string;
  /** a placeholder (a seq closed without a message) */
  p?: 1;
  /** when it was published (ms since epoch), sent only by a scaler whose metrics are on */
  m?: number;
}

/**
 * The JSON of a message's fields that do not depend on its place in the order, without the
 * opening brace, so that `{"s":..,"e":..,` can be put in front once the seq is known. `dataJson`
 * is the data already encoded as JSON (undefined for no data).
 */
export function encodeMessageRest(
  channel: string,
  topic: string,
  dataJson: string | undefined,
  exceptSocketId?: string,
  publishedAt?: number,
  placeholder = false,
): string {
  let rest = `"c":${JSON.stringify(channel)},"t":${JSON.stringify(topic)}`;
  if (dataJson !== undefined) rest += `,"d":${dataJson}`;
  if (exceptSocketId !== undefined) rest += `,"x":${JSON.stringify(exceptSocketId)}`;
  if (placeholder) rest += `,"p":1`;
  if (publishedAt !== undefined) rest += `,"m":${publishedAt}`;
  return `${rest}}`;
}

/** The complete wire JSON of a sequenced message, from `encodeMessageRest`'s output. */
export function completeWireMessage(seq: number, epoch: string, rest: string): string {
  return `{"s":${seq},"e":${JSON.stringify(epoch)},${rest}`;
}

/** The wire JSON of a sequenced message (or placeholder) read back from the store. */
export function wireJsonOf(message: ScalerMessage): string {
  const dataJson = message.data === undefined ? undefined : JSON.stringify(message.data);
  const rest = encodeMessageRest(
    message.channel,
    message.topic,
    dataJson,
    message.exceptSocketId,
    undefined,
    message.placeholder === true,
  );
  return completeWireMessage(message.seq, message.epoch, rest);
}

/** A message from its wire JSON; undefined when the payload is not one. */
export function decodeWireMessage(payload: string): ScalerMessage | undefined {
  let wire: WireMessage;
  try {
    wire = JSON.parse(payload) as WireMessage;
  } catch {
    return undefined;
  }
  if (typeof wire?.c !== 'string' || typeof wire.s !== 'number' || typeof wire.e !== 'string') return undefined;
  const message: ScalerMessage = { channel: wire.c, topic: wire.t, data: wire.d, seq: wire.s, epoch: wire.e };
  if (wire.x !== undefined) message.exceptSocketId = wire.x;
  if (wire.p === 1) message.placeholder = true;
  if (typeof wire.m === 'number') message.publishedAt = wire.m;
  return message;
}
