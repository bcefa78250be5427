import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { NO_METRICS } from '../../lib/metrics/sss-metrics.recorder.js';
import { MemoryScaler } from '../../lib/scaler/memory.scaler.js';
import { SharedFrame } from '../../lib/server/frame.encoder.js';
import { SssSocket } from '../../lib/server/sss-socket.js';

/** A real ws connection: the server side wrapped in an SssSocket, the client collecting texts. */
async function connectedPair(): Promise<{ socket: SssSocket; server: WebSocket; received: string[]; close(): void }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: string[] = [];
  client.on('message', (data: Buffer, isBinary) => received.push(isBinary ? '<binary>' : data.toString()));
  const server = await accepted;
  await new Promise((resolve) => client.once('open', resolve));
  const runtime = {
    scaler: new MemoryScaler({ maxMessages: 1, maxAgeMs: 1 }),
    maxBufferedBytes: 1 << 24,
    messagesPerSecond: 1,
    metrics: NO_METRICS,
  };
  const socket = new SssSocket(
    's1',
    server,
    { request: undefined as never, address: '127.0.0.1', locals: {} },
    runtime,
  );
  return {
    socket,
    server,
    received,
    close: () => {
      client.terminate();
      wss.close();
    },
  };
}

async function eventually(check: () => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return check();
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('SssSocket sending', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('writes text frames of every length class (7-bit, 16-bit and 64-bit lengths) intact', async () => {
    const pair = await connectedPair();
    close = pair.close;
    // 125/126 and 65535/65536 bytes are where the header changes; é is two bytes in UTF-8.
    const texts = [
      '',
      'x',
      'a'.repeat(125),
      'a'.repeat(126),
      'é'.repeat(40_000),
      'b'.repeat(65_535),
      'c'.repeat(65_536),
    ];
    for (const text of texts) pair.socket.sendRaw(text);
    const shared = new SharedFrame(JSON.stringify({ t: 'msg', text: 'ü'.repeat(100) }));
    pair.socket.sendShared(shared);
    pair.socket.sendShared(shared);
    await eventually(() => expect(pair.received).toHaveLength(texts.length + 2));
    expect(pair.received).toEqual([...texts, shared.text, shared.text]);
  });

  it('falls back to ws.send() while ws has frames queued, keeping their order', async () => {
    const pair = await connectedPair();
    close = pair.close;
    const sender = (pair.server as unknown as { _sender: { _queue: unknown[] } })._sender;
    // Make the writer look busy: the fast path must not overtake queued frames.
    const busy = sender._queue;
    sender._queue = [() => undefined];
    const sent: string[] = [];
    const send = pair.server.send.bind(pair.server);
    pair.server.send = ((data: string) => sent.push(data)) as typeof pair.server.send;
    pair.socket.sendRaw('queued');
    pair.socket.sendShared(new SharedFrame('shared'));
    expect(sent).toEqual(['queued', 'shared']);
    sender._queue = busy;
    pair.server.send = send;
    pair.socket.sendRaw('direct');
    await eventually(() => expect(pair.received).toEqual(['direct']));
  });
});
