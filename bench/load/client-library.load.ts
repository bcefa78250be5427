import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { SssClient } from '../../lib/client/index.js';
import { BenchConnection, forEachLimited, sleep } from './bench-connection.js';
import type { ClientLibraryParams, ClientLibraryResult } from './load-params.js';
import { wireProtocols } from './wire-protocols.js';

const PAYLOAD = { text: 'The quick brown fox jumps over the lazy dog', n: 42 };
const CHANNEL = 'bench/client';

/** What both client libraries offer the measurement: asks, and counted deliveries of one channel. */
interface BenchClient {
  ask(): Promise<unknown>;
  /** Subscribes; `onDelivery` runs for every message of the channel. */
  subscribe(onDelivery: () => void): Promise<void>;
  close(): void;
}

/**
 * A client written with `ws` alone, as a developer would for our protocol: a map of pending asks
 * (one Promise each, no timeout), `JSON.parse` of every frame, and a listener per channel.
 */
class BareWsClient implements BenchClient {
  private readonly pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();
  private readonly channels = new Map<string, (data: unknown) => void>();
  private nextId = 1;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      const frame = JSON.parse(raw.toString()) as { t: string; id?: number; channel?: string; data?: unknown };
      if (frame.t === 'msg') {
        this.channels.get(frame.channel!)?.(frame.data);
        return;
      }
      if (frame.id === undefined) return;
      const request = this.pending.get(frame.id);
      if (!request) return;
      this.pending.delete(frame.id);
      if (frame.t === 'err') request.reject(new Error(String((frame as { message?: unknown }).message)));
      else request.resolve(frame.data);
    });
  }

  static async open(url: string): Promise<BareWsClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    // Our server speaks first (`hello`).
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    return new BareWsClient(ws);
  }

  ask(): Promise<unknown> {
    return this.request({ t: 'ask', topic: 'echo', data: PAYLOAD });
  }

  async subscribe(onDelivery: () => void): Promise<void> {
    this.channels.set(CHANNEL, onDelivery);
    await this.request({ t: 'sub', channel: CHANNEL });
  }

  close(): void {
    this.ws.terminate();
  }

  private request(frame: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }
}

/** Our client library, used as the README shows it. */
class OurClient implements BenchClient {
  private constructor(private readonly client: SssClient) {}

  static async open(url: string): Promise<OurClient> {
    const client = new SssClient(url);
    await client.connect();
    return new OurClient(client);
  }

  ask(): Promise<unknown> {
    return this.client.ask('echo', PAYLOAD);
  }

  async subscribe(onDelivery: () => void): Promise<void> {
    const subscription = await this.client.subscribe(CHANNEL);
    subscription.on('m', onDelivery);
  }

  close(): void {
    void this.client.close();
  }
}

/** This process's CPU time (user + system), µs. */
function ownCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * What a client library costs its host: the load generator's own CPU per delivery (saturated
 * fan-out: the server publishes bursts to one channel with `subscribers` connections) and per
 * ask (closed loop, `connections` × `inFlight`), with our `SssClient` or a bare `ws` client,
 * against the same server (ours, embedded scaler).
 */
export async function runClientLibrary(params: ClientLibraryParams): Promise<ClientLibraryResult> {
  const url = wireProtocols.sss.url(params.origin);
  const open = (): Promise<BenchClient> => (params.client === 'sss' ? OurClient.open(url) : BareWsClient.open(url));

  // Deliveries: a burst of `burst` publishes at a time, the next once the last one is stored.
  const subscribers: BenchClient[] = [];
  let delivered = 0;
  await forEachLimited(Array.from({ length: params.subscribers }), 16, async () => {
    const client = await open();
    await client.subscribe(() => delivered++);
    subscribers.push(client);
  });
  const publisher = await BenchConnection.open(wireProtocols.sss, params.origin);
  let publishing = true;
  const burstBody = JSON.stringify({ channel: CHANNEL, count: params.burst });
  const publishing$ = (async () => {
    while (publishing) await publisher.request((id) => wireProtocols.sss.ask(id, 'burst', burstBody));
  })();
  await sleep(params.warmupMs);
  let cpuBefore = ownCpuMicros();
  let countBefore = delivered;
  let startedAt = performance.now();
  await sleep(params.measureMs);
  const deliveryCpu = ownCpuMicros() - cpuBefore;
  const deliveries = delivered - countBefore;
  const deliverySeconds = (performance.now() - startedAt) / 1000;
  publishing = false;
  await publishing$;
  publisher.terminate();
  for (const client of subscribers) client.close();

  // Asks: every connection keeps `inFlight` asks outstanding.
  const askers: BenchClient[] = [];
  await forEachLimited(Array.from({ length: params.connections }), 16, async () => {
    askers.push(await open());
  });
  let answered = 0;
  let asking = true;
  const loops = askers.flatMap((client) =>
    Array.from({ length: params.inFlight }, async () => {
      while (asking) {
        await client.ask();
        answered++;
      }
    }),
  );
  await sleep(params.warmupMs);
  cpuBefore = ownCpuMicros();
  countBefore = answered;
  startedAt = performance.now();
  await sleep(params.measureMs);
  const askCpu = ownCpuMicros() - cpuBefore;
  const asks = answered - countBefore;
  const askSeconds = (performance.now() - startedAt) / 1000;
  asking = false;
  await Promise.all(loops);
  for (const client of askers) client.close();

  return {
    deliveries,
    deliveryCpuMicros: deliveryCpu,
    deliveriesPerSecond: deliveries / deliverySeconds,
    asks,
    askCpuMicros: askCpu,
    asksPerSecond: asks / askSeconds,
  };
}
