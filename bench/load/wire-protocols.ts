/**
 * How the load generator speaks to each target over a raw `ws` client, so that the client side
 * costs the same for every target and no client library sits between the load and the server.
 */

/** The targets the suite compares. */
/**
 * `sss-history-off` is ours on the RedisScaler (history off; fan-out scenarios only); `sss-cluster`
 * is ours on the MongoRedisScaler with a 3-master Redis Cluster instead of one Redis (fan-out only);
 * `sss-baseline` is ours built from another tree (BENCH_BASELINE), to measure a change in the same run.
 */
export type TargetName = 'raw-ws' | 'socket-io' | 'sss' | 'sss-history-off' | 'sss-cluster' | 'sss-baseline';

/** What fan-out publishes: a per-channel counter (order and completeness) and the send time (latency). */
export interface FanOutPayload {
  n: number;
  ts: number;
}

/** An incoming frame, reduced to what the load generator needs. */
export type Incoming =
  | { kind: 'ready' }
  | { kind: 'reply'; id: number; result?: unknown; error?: string }
  | { kind: 'msg'; channel: string; seq: number; data: FanOutPayload }
  /** The protocol wants an answer (Socket.IO's handshake and heartbeat). */
  | { kind: 'answer'; frame: string }
  | { kind: 'other' };

/** One target's wire format. `data` arguments are already JSON. */
export interface WireProtocol {
  url(origin: string): string;
  /** Whether the connection can be used as soon as the WebSocket opens. */
  readyOnOpen: boolean;
  parse(text: string): Incoming;
  ask(id: number, topic: string, dataJson: string): string;
  subscribe(id: number, channel: string, sinceJson?: string): string;
  publish(id: number, channel: string, dataJson: string): string;
  /** The keep-alive frame a client sends, if the protocol has the client ping. */
  ping?: string;
}

/** Our frames (PROTOCOL.md); the raw `ws` baseline uses the same shapes, so both move the same bytes. */
function parseSssFrame(text: string): Incoming {
  const frame = JSON.parse(text) as Record<string, unknown>;
  switch (frame.t) {
    case 'msg':
      return {
        kind: 'msg',
        channel: frame.channel as string,
        seq: (frame.seq as number | undefined) ?? 0,
        data: frame.data as FanOutPayload,
      };
    case 'res':
      return { kind: 'reply', id: frame.id as number, result: frame.data };
    case 'ack':
      return { kind: 'reply', id: frame.id as number };
    case 'subbed':
      return { kind: 'reply', id: frame.id as number, result: frame };
    case 'err':
      return { kind: 'reply', id: frame.id as number, error: `${frame.code as string}: ${frame.message as string}` };
    case 'hello':
      return { kind: 'ready' };
    default:
      return { kind: 'other' };
  }
}

const sss: WireProtocol = {
  url: (origin) => `${origin}/sss?v=1`,
  readyOnOpen: false,
  parse: parseSssFrame,
  ask: (id, topic, dataJson) => `{"t":"ask","id":${id},"topic":${JSON.stringify(topic)},"data":${dataJson}}`,
  subscribe: (id, channel, sinceJson) =>
    `{"t":"sub","id":${id},"channel":${JSON.stringify(channel)}${sinceJson ? `,"since":${sinceJson}` : ''}}`,
  publish: (id, channel, dataJson) =>
    `{"t":"ask","id":${id},"topic":"publish","data":{"channel":${JSON.stringify(channel)},"data":${dataJson}}}`,
  ping: '{"t":"ping"}',
};

const rawWs: WireProtocol = {
  url: (origin) => `${origin}/`,
  readyOnOpen: true,
  parse: parseSssFrame,
  ask: sss.ask,
  subscribe: (id, channel) => `{"t":"sub","id":${id},"channel":${JSON.stringify(channel)}}`,
  publish: (id, channel, dataJson) => `{"t":"pub","id":${id},"channel":${JSON.stringify(channel)},"data":${dataJson}}`,
};

/**
 * Engine.IO 4 / Socket.IO 5 packets over the WebSocket transport: `0{…}` open → `40` connect →
 * `40{…}`; `42<id>["event",…]` an event with an acknowledgement, `43<id>[…]` its ack (what
 * `emitWithAck` sends and awaits); `2` ping from the server → `3` pong.
 */
const socketIo: WireProtocol = {
  url: (origin) => `${origin}/socket.io/?EIO=4&transport=websocket`,
  readyOnOpen: false,
  parse(text) {
    if (text === '2') return { kind: 'answer', frame: '3' };
    if (text.charCodeAt(0) === 48 /* 0 */) return { kind: 'answer', frame: '40' };
    if (text.startsWith('40')) return { kind: 'ready' };
    if (text.startsWith('43')) {
      const start = text.indexOf('[');
      const args = JSON.parse(text.slice(start)) as unknown[];
      return { kind: 'reply', id: Number(text.slice(2, start)), result: args[0] };
    }
    if (text.startsWith('42')) {
      const [event, channel, data] = JSON.parse(text.slice(2)) as [string, string, FanOutPayload];
      if (event === 'msg') return { kind: 'msg', channel, seq: 0, data };
    }
    if (text.startsWith('44')) return { kind: 'reply', id: 0, error: `connect_error ${text}` };
    return { kind: 'other' };
  },
  ask: (id, topic, dataJson) => `42${id}[${JSON.stringify(topic)},${dataJson}]`,
  subscribe: (id, channel) => `42${id}["sub",${JSON.stringify(channel)}]`,
  publish: (id, channel, dataJson) => `42${id}["pub",${JSON.stringify(channel)},${dataJson}]`,
};

export const wireProtocols: Record<TargetName, WireProtocol> = {
  'raw-ws': rawWs,
  'socket-io': socketIo,
  sss,
  'sss-history-off': sss,
  'sss-cluster': sss,
  'sss-baseline': sss,
};

/** Whether a target is ours (our protocol, our server, MongoDB history in cluster runs). */
export function isOurs(target: TargetName): boolean {
  return target === 'sss' || target === 'sss-history-off' || target === 'sss-cluster' || target === 'sss-baseline';
}
