/**
 * The baseline: what a developer writes with `ws` alone. JSON request/response, and for fan-out a
 * DIY Redis relay: each instance subscribes to a Redis channel per channel that has local
 * subscribers and forwards every message to them, JSON-stringifying the frame once per subscriber
 * as naive code does (`BENCH_RAW_RELAY=once` builds it once per message instead).
 *
 * With MONGO_URL (the publish-cost scenario; fan-out too with `BENCH_RAW_HISTORY=1`), a publish is
 * first inserted into MongoDB with the driver's `insertOne` (no order, no seq: the least a stored
 * publish can cost), then relayed.
 *
 * `BENCH_RAW_HELLO=1` makes it greet each connection with a frame like our `hello` (a diagnostic
 * of the idle scenario: then both servers write one frame per connection).
 *
 * Frames have the same shape as ours (`{"t":"ask","id":1,"topic":"echo","data":…}` → `res`), so
 * that both move the same bytes.
 */
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { WebSocketServer, type WebSocket } from 'ws';
import { announceReady, serveControl } from '../../support/control.js';

interface ClientFrame {
  t: string;
  id: number;
  topic?: string;
  channel: string;
  data?: unknown;
}

const redisUrl = process.env.REDIS_URL;
const mongoUrl = process.env.MONGO_URL;
const stringifyOnce = process.env.BENCH_RAW_RELAY === 'once';
const REDIS_PREFIX = 'relay:';
const hello =
  process.env.BENCH_RAW_HELLO === '1'
    ? JSON.stringify({ t: 'hello', v: 1, socketId: '8f0e2c4a-1b3d-4e5f-9a8b-7c6d5e4f3a2b', heartbeat: 25_000 })
    : undefined;

const history = mongoUrl ? new mongoose.mongo.MongoClient(mongoUrl).db().collection('messages') : undefined;
const publisher = redisUrl ? new Redis(redisUrl, { enableAutoPipelining: true }) : undefined;
const subscriber = publisher?.duplicate();
/** Channel → local subscribers. */
const local = new Map<string, Set<WebSocket>>();

subscriber?.on('message', (redisChannel: string, payload: string) => {
  const { channel, data } = JSON.parse(payload) as { channel: string; data: unknown };
  const sockets = local.get(channel);
  if (!sockets) return;
  if (stringifyOnce) {
    const frame = JSON.stringify({ t: 'msg', channel, data });
    for (const ws of sockets) ws.send(frame);
    return;
  }
  for (const ws of sockets) ws.send(JSON.stringify({ t: 'msg', channel, data }));
});

async function subscribe(ws: WebSocket, channel: string): Promise<void> {
  let sockets = local.get(channel);
  if (!sockets) {
    sockets = new Set();
    local.set(channel, sockets);
    await subscriber?.subscribe(REDIS_PREFIX + channel);
  }
  sockets.add(ws);
}

function unsubscribe(ws: WebSocket, channel: string): void {
  const sockets = local.get(channel);
  if (!sockets?.delete(ws) || sockets.size > 0) return;
  local.delete(channel);
  void subscriber?.unsubscribe(REDIS_PREFIX + channel);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 65_536,
});

wss.on('connection', (ws) => {
  let channels: Set<string> | undefined;
  ws.on('error', () => ws.terminate());
  if (hello) ws.send(hello);
  ws.on('message', (raw) => {
    let frame: ClientFrame;
    try {
      frame = JSON.parse(raw.toString()) as ClientFrame;
    } catch {
      return;
    }
    switch (frame.t) {
      case 'ask':
        ws.send(JSON.stringify({ t: 'res', id: frame.id, data: frame.data }));
        return;
      case 'sub':
        channels ??= new Set();
        channels.add(frame.channel);
        void subscribe(ws, frame.channel).then(() => ws.send(JSON.stringify({ t: 'subbed', id: frame.id })));
        return;
      case 'pub':
        void (history?.insertOne({ c: frame.channel, d: frame.data, at: new Date() }) ?? Promise.resolve())
          .then(() =>
            publisher?.publish(
              REDIS_PREFIX + frame.channel,
              JSON.stringify({ channel: frame.channel, data: frame.data }),
            ),
          )
          .then(
            () => ws.send(JSON.stringify({ t: 'ack', id: frame.id })),
            (error: Error) =>
              ws.send(JSON.stringify({ t: 'err', id: frame.id, code: 'UNAVAILABLE', message: error.message })),
          );
        return;
    }
  });
  ws.on('close', () => {
    for (const channel of channels ?? []) unsubscribe(ws, channel);
  });
});

serveControl();
wss.on('listening', () => announceReady((wss.address() as { port: number }).port));
