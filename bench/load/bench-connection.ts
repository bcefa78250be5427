import { WebSocket } from 'ws';
import type { Incoming, WireProtocol } from './wire-protocols.js';

export type Reply = Extract<Incoming, { kind: 'reply' }>;
export type ChannelMessage = Extract<Incoming, { kind: 'msg' }>;

/** One load-generator connection to a target: handshake, request ids, replies, channel messages. */
export class BenchConnection {
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private nextId = 1;
  /** Called for every channel message. */
  onChannelMessage?: (message: ChannelMessage) => void;

  private constructor(
    private readonly ws: WebSocket,
    readonly protocol: WireProtocol,
  ) {}

  /** Opens a connection and resolves once the target accepts requests on it. */
  static open(protocol: WireProtocol, origin: string): Promise<BenchConnection> {
    const ws = new WebSocket(protocol.url(origin), { perMessageDeflate: false });
    const connection = new BenchConnection(ws, protocol);
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => reject(error);
      ws.once('error', fail);
      ws.once('close', (code) => reject(new Error(`closed with ${code} during the handshake`)));
      const ready = () => {
        ws.off('error', fail);
        ws.removeAllListeners('close');
        ws.on('error', () => undefined);
        resolve(connection);
      };
      if (protocol.readyOnOpen) ws.once('open', ready);
      ws.on('message', (data: Buffer) => connection.receive(data.toString(), ready));
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a request built from its id; `onReply` gets the answer. */
  call(build: (id: number) => string, onReply: (reply: Reply) => void): void {
    const id = this.nextId++;
    this.pending.set(id, onReply);
    this.ws.send(build(id));
  }

  /** `call`, as a promise that rejects on an error answer. */
  request(build: (id: number) => string): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.call(build, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply.result))),
    );
  }

  send(frame: string): void {
    this.ws.send(frame);
  }

  /** Closes with a closing handshake and resolves once closed. */
  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }

  /** Drops the connection at once (end of a run). */
  terminate(): void {
    this.ws.terminate();
  }

  private receive(text: string, ready: () => void): void {
    const incoming = this.protocol.parse(text);
    switch (incoming.kind) {
      case 'msg':
        this.onChannelMessage?.(incoming);
        return;
      case 'reply': {
        const onReply = this.pending.get(incoming.id);
        if (!onReply) return;
        this.pending.delete(incoming.id);
        onReply(incoming);
        return;
      }
      case 'answer':
        this.ws.send(incoming.frame);
        return;
      case 'ready':
        ready();
        return;
    }
  }
}

/** Runs `task` for every item with at most `limit` running at once. */
export async function forEachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Now on the monotonic clock, in µs: the clock V8's CPU profiles use. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
