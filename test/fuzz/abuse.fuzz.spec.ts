import type { Server } from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CloseCode, ErrorCode, SssPublisher, type SssModuleOptions } from '../../lib/index.js';
import { SocketRegistry } from '../../lib/server/socket.registry.js';
import { FixtureAppModule } from '../e2e/fixtures/app.module.js';
import { RawSocket } from '../e2e/support/raw-socket.js';
import { upgradeStatus } from '../e2e/support/upgrade-status.js';
import { clientFrame, Opcode, openRawWire, ServerFrameReader, type RawWire } from '../support/raw-wire.js';
import { FrameFuzzer, type Expectation } from './support/frame-fuzzer.js';
import { Prng } from './support/prng.js';

// `npm test` runs the short form; `npm run fuzz` the long one. FUZZ_SEED reproduces a run.
const LONG = process.env.FUZZ_LONG === '1';
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FRAMES = Number(process.env.FUZZ_FRAMES ?? (LONG ? 1_000_000 : 100_000));
const SOCKETS = Number(process.env.FUZZ_SOCKETS ?? (LONG ? 200 : 50));
const FLOOD_MS = LONG ? 10_000 : 2_000;
const FRAME_PHASE_TIMEOUT_MS = LONG ? 900_000 : 60_000;
const FLOODERS_PER_KIND = Number(process.env.FUZZ_FLOODERS ?? (LONG ? 3 : 1));

// Every code an `err` may carry in this app: the protocol's, the HTTP statuses PROTOCOL.md maps,
// and the fixture gateway's own (SssError and WsException codes).
const DOCUMENTED_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNPROCESSABLE_ENTITY',
  'QUOTA',
  'ROOM_FULL',
  'CLOSED_ROOM',
]);
const isDocumentedCode = (code: unknown) =>
  typeof code === 'string' && (DOCUMENTED_CODES.has(code) || /^HTTP_\d{3}$/.test(code));
const ANSWER_TYPES = new Set(['res', 'ack', 'subbed', 'err']);
const UNSOLICITED_TYPES = new Set(['msg', 'skip', 'tell', 'unsubbed']);

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

interface Memory {
  rss: number;
  heapUsed: number;
  /** Memory outside the JS heap that Node tracks: Buffers and the like. */
  external: number;
}

function memory(): Memory {
  gc();
  gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface App {
  close(): Promise<void>;
  url: string;
  server: Server;
  get<T>(type: new (...args: never[]) => T): T;
}

/** The fixture app, with the HTTP server's header timeout short enough to see it answer. */
async function startApp(options: SssModuleOptions): Promise<App> {
  const moduleRef = await Test.createTestingModule({ imports: [FixtureAppModule.register(options)] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  const server = app.getHttpServer() as Server;
  // Node's defaults (60 s, checked every 30 s) would take a minute and a half to show.
  server.headersTimeout = 1_000;
  server.requestTimeout = 2_000;
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = 250;
  await app.listen(0, '127.0.0.1');
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/sss`,
    server,
    close: () => app.close(),
    get: (type) => app.get(type, { strict: false }),
  };
}

/** Reads every frame the server sends on a raw wire. */
function collect(wire: RawWire): { texts: Array<Record<string, unknown>>; closeCode?: number; ended: boolean } {
  const state: { texts: Array<Record<string, unknown>>; closeCode?: number; ended: boolean } = {
    texts: [],
    ended: false,
  };
  const reader = new ServerFrameReader();
  const take = (chunk: Buffer) => {
    for (const frame of reader.push(chunk)) {
      if (frame.opcode === Opcode.Text)
        state.texts.push(JSON.parse(frame.payload.toString()) as Record<string, unknown>);
      else if (frame.opcode === Opcode.Close)
        state.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
    }
  };
  for (const chunk of wire.received.splice(0)) take(chunk);
  wire.socket.on('data', take);
  wire.socket.on('close', () => (state.ended = true));
  return state;
}

async function write(wire: RawWire, bytes: Buffer): Promise<void> {
  if (!wire.socket.write(bytes)) await new Promise((resolve) => wire.socket.once('drain', resolve));
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (seed ${SEED})`);
    await sleep(20);
  }
}

interface SocketReport {
  frames: number;
  answers: number;
}

/** Sends `count` fuzzed frames on one socket and checks every answer against the protocol. */
async function fuzzSocket(wire: RawWire, random: Prng, count: number): Promise<SocketReport> {
  const received = collect(wire);
  const fuzzer = new FrameFuzzer(random);
  const expectedById = new Map<number, Expectation & { kind: 'id' }>();
  const expectedIdless = new Map<string, number>();
  let expectedPongs = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  for (let index = 0; index < count; index++) {
    const frame = fuzzer.frame();
    const expectation = frame.expect;
    if (expectation.kind === 'id') expectedById.set(expectation.id, expectation);
    else if (expectation.kind === 'idless') {
      expectedIdless.set(expectation.code, (expectedIdless.get(expectation.code) ?? 0) + 1);
    } else expectedPongs++;
    const bytes = clientFrame(frame.binary ? Opcode.Binary : Opcode.Text, frame.payload);
    batch.push(bytes);
    batchBytes += bytes.length;
    if (batchBytes > 32_768 || index === count - 1) {
      await write(wire, Buffer.concat(batch));
      batch = [];
      batchBytes = 0;
      // Let the other sockets (and the server, in this same process) run between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const answered = new Map<number, Record<string, unknown>>();
  const idless = new Map<string, number>();
  let pongs = 0;
  let checked = 0;
  // Counted down as answers come, so that polling costs nothing per request.
  const unanswered = new Set([...expectedById.values()].filter((e) => !e.optional).map((e) => e.id));
  const problems: string[] = [];
  const absorb = () => {
    for (; checked < received.texts.length; checked++) {
      const frame = received.texts[checked];
      if (frame.t === 'hello') continue;
      if (frame.t === 'pong') pongs++;
      else if (typeof frame.id === 'number') {
        if (answered.has(frame.id)) problems.push(`id ${frame.id} answered twice`);
        answered.set(frame.id, frame);
        unanswered.delete(frame.id);
      } else if (frame.t === 'err') idless.set(String(frame.code), (idless.get(String(frame.code)) ?? 0) + 1);
      else if (!UNSOLICITED_TYPES.has(String(frame.t)))
        problems.push(`unexpected ${JSON.stringify(frame).slice(0, 200)}`);
    }
  };
  await until(
    () => {
      absorb();
      return (
        received.ended ||
        (pongs >= expectedPongs &&
          unanswered.size === 0 &&
          [...expectedIdless].every(([code, n]) => (idless.get(code) ?? 0) >= n))
      );
    },
    FRAME_PHASE_TIMEOUT_MS,
    'every answer',
  );
  // Sub answers may still come (or not: see Expectation); give them a moment, then check it all.
  await sleep(100);
  absorb();
  expect(received.ended, `socket closed by the server with ${received.closeCode} (seed ${SEED})`).toBe(false);
  expect(pongs).toBe(expectedPongs);
  expect(Object.fromEntries(idless)).toEqual(Object.fromEntries(expectedIdless));
  for (const [id, answer] of answered) {
    const expectation = expectedById.get(id);
    const text = JSON.stringify(answer).slice(0, 200);
    if (!expectation) problems.push(`answer to an id never sent: ${text}`);
    else if (!ANSWER_TYPES.has(String(answer.t))) problems.push(`not an answer: ${text}`);
    else if (expectation.code !== undefined && (answer.t !== 'err' || answer.code !== expectation.code)) {
      problems.push(`expected ${expectation.code}: ${text}`);
    } else if (answer.t === 'err' && !isDocumentedCode(answer.code)) problems.push(`undocumented code: ${text}`);
    else if (answer.t === 'err' && !(typeof answer.message === 'string' && answer.message.length <= 300)) {
      problems.push(`unbounded message: ${text}`);
    }
  }
  expect(problems, `seed ${SEED}`).toEqual([]);
  wire.socket.destroy();
  return { frames: count, answers: received.texts.length - 1 };
}

class LoopWatch {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 5 });

  constructor() {
    this.histogram.enable();
  }

  stop(): { maxMs: number; p99Ms: number } {
    this.histogram.disable();
    return { maxMs: this.histogram.max / 1e6, p99Ms: this.histogram.percentile(99) / 1e6 };
  }
}

const figures: string[] = [];
const escaped: unknown[] = [];
const recordEscape = (error: unknown) => escaped.push(error);
let before: Memory;
let quietLoop: { maxMs: number; p99Ms: number };
const startedAt = Date.now();

beforeAll(async () => {
  console.log(`fuzz seed ${SEED}: FUZZ_SEED=${SEED} reproduces this run (${LONG ? 'long' : 'short'} form)`);
  process.on('uncaughtException', recordEscape);
  process.on('unhandledRejection', recordEscape);
  // The hostile handlers log once each; the suite's own output stays readable.
  vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  before = memory();
  const watch = new LoopWatch();
  await sleep(1_000);
  quietLoop = watch.stop();
});

afterAll(() => {
  process.off('uncaughtException', recordEscape);
  process.off('unhandledRejection', recordEscape);
  vi.restoreAllMocks();
  console.log(['fuzz and abuse figures:', ...figures].join('\n  '));
});

describe(`random and mutated frames (seed ${SEED})`, () => {
  let app: App;

  beforeAll(async () => {
    // No rate limit here: every frame must get its exact answer (floods are tested below).
    app = await startApp({
      limits: { messagesPerSecond: 0, maxFrameBytes: 1 << 20, maxSocketsPerAddress: SOCKETS + 10 },
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it(
    `${FRAMES} frames over ${SOCKETS} sockets each get the documented answer`,
    async () => {
      const random = new Prng(SEED);
      const watch = new LoopWatch();
      const started = Date.now();
      const perSocket = Math.ceil(FRAMES / SOCKETS);
      // One PRNG per socket, seeded from the run's seed, so that the order the sockets run in does not matter.
      // Every socket is open before the first frame goes out: all of them are fuzzed at once.
      const wires = await Promise.all(Array.from({ length: SOCKETS }, () => openRawWire(app.url, {}, 10_000)));
      expect(wires.map((wire) => wire.status)).toEqual(wires.map(() => 101));
      const reports = await Promise.all(
        wires.map((wire) => fuzzSocket(wire, new Prng(random.int(0, 2 ** 31)), perSocket)),
      );
      const loop = watch.stop();
      const frames = reports.reduce((sum, report) => sum + report.frames, 0);
      figures.push(
        `random/mutated: ${frames} frames over ${SOCKETS} sockets in ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
          `${reports.reduce((sum, report) => sum + report.answers, 0)} answers; ` +
          `loop delay max ${loop.maxMs.toFixed(0)} ms, p99 ${loop.p99Ms.toFixed(0)} ms`,
      );
      expect(frames).toBeGreaterThanOrEqual(FRAMES);
      // A process that is still alive answers.
      const probe = await RawSocket.open(app.url);
      expect(await probe.request({ t: 'ask', id: 1, topic: 'echo', data: 'alive' })).toMatchObject({ data: 'alive' });
      probe.close();
    },
    FRAME_PHASE_TIMEOUT_MS,
  );
});

describe('abuse at the limits (defaults, behind a trusted proxy)', () => {
  let app: App;
  const options: SssModuleOptions = {
    trustProxy: 'loopback',
    allowedOrigins: ['https://app.example'],
    heartbeatInterval: 500,
    limits: { maxSocketsPerAddress: 20 },
  };

  beforeAll(async () => {
    app = await startApp(options);
  });

  afterAll(async () => {
    await app.close();
  });

  const fromClient = (address: string, claimed = '10.0.0.1') => ({ 'x-forwarded-for': `${claimed}, ${address}` });

  it('per-address limit with spoofed forwarding headers: 20 accepted, the rest 429', async () => {
    const random = new Prng(SEED + 1);
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        openRawWire(app.url, fromClient('203.0.113.50', `${random.int(1, 254)}.${random.int(0, 255)}.0.1`)),
      ),
    );
    const statuses = results.map((wire) => wire.status);
    figures.push(
      `spoofed X-Forwarded-For: 40 upgrades from one real address -> ${statuses.filter((s) => s === 101).length} x 101`,
    );
    expect(statuses.filter((status) => status === 101)).toHaveLength(20);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
    for (const wire of results) wire.socket.destroy();
  });

  it('unauthorized, cross-origin, misdirected, oversized and half-open upgrades get their documented answers', async () => {
    const cases: Array<[string, Promise<number>, number]> = [];
    for (let i = 0; i < 10; i++) {
      const address = `198.51.100.${i + 1}`;
      cases.push([
        'unknown session',
        upgradeStatus(app.url, { ...fromClient(address), cookie: 'token=stolen' }).then((r) => r.status),
        401,
      ]);
      cases.push([
        'guard says no',
        upgradeStatus(app.url, { ...fromClient(address), 'x-deny': '1' }).then((r) => r.status),
        403,
      ]);
      cases.push([
        'foreign Origin',
        upgradeStatus(app.url, { ...fromClient(address), origin: 'https://evil.example' }).then((r) => r.status),
        403,
      ]);
      cases.push([
        'other path',
        upgradeStatus(app.url.replace('/sss', '/nowhere'), fromClient(address)).then((r) => r.status),
        404,
      ]);
      cases.push([
        'oversized headers',
        openRawWire(app.url, { cookie: 'a'.repeat(20_000) }).then((wire) => {
          wire.socket.destroy();
          return wire.status;
        }),
        431,
      ]);
      cases.push(['half-open request', halfOpenUpgrade(app.url), 408]);
    }
    const statuses = await Promise.all(cases.map(([, status]) => status));
    cases.forEach(([name, , expected], index) => expect(statuses[index], name).toBe(expected));
    figures.push(
      `refused upgrades: ${cases.length} (401, 403, 403 Origin, 404, 431, 408 half-open), each as documented`,
    );
  });

  it('silent sockets are dropped after 2-3 heartbeat intervals', async () => {
    const wires = await Promise.all(
      Array.from({ length: 20 }, (_, i) => openRawWire(app.url, fromClient(`192.0.2.${i + 1}`))),
    );
    const states = wires.map(collect);
    const opened = Date.now();
    await until(() => states.every((state) => state.ended), 5_000, 'silent sockets to be dropped');
    const tookMs = Date.now() - opened;
    figures.push(`silent sockets: 20 dropped after ${tookMs} ms (heartbeat 500 ms)`);
    expect(tookMs).toBeGreaterThanOrEqual(900);
  });

  it('protocol violations close with 1002/1007, oversized frames with 1009', async () => {
    const violations: Array<[string, Buffer, number]> = [
      ['unmasked frame', Buffer.from([0x81, 0x02, 0x7b, 0x7d]), CloseCode.ProtocolError],
      ['reserved opcode', clientFrame(0x3, 'x'), CloseCode.ProtocolError],
      ['fragmented control frame', clientFrame(Opcode.Ping, '', { fin: false }), CloseCode.ProtocolError],
      ['invalid UTF-8', clientFrame(Opcode.Text, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), CloseCode.InvalidPayload],
      [
        'oversized frame',
        clientFrame(Opcode.Text, `{"t":"ask","id":1,"topic":"echo","data":"${'x'.repeat(70_000)}"}`),
        CloseCode.TooBig,
      ],
    ];
    for (const [name, bytes, code] of violations) {
      const wire = await openRawWire(app.url, fromClient('192.0.2.200'));
      const state = collect(wire);
      wire.socket.write(bytes);
      await until(() => state.closeCode !== undefined || state.ended, 3_000, name);
      expect(state.closeCode, name).toBe(code);
      wire.socket.destroy();
    }
    figures.push(`protocol violations: ${violations.length} kinds, each closed with its documented code`);
  });

  it('floods of asks, JSON pings and control pings: closed with 1008, a bystander unaffected', async () => {
    const bystander = await RawSocket.open(app.url, fromClient('192.0.2.250'));
    const kinds: Array<[string, Buffer]> = [
      ['asks', clientFrame(Opcode.Text, '{"t":"ask","id":1,"topic":"echo"}')],
      ['pings', clientFrame(Opcode.Text, '{"t":"ping"}')],
      ['control pings', clientFrame(Opcode.Ping, '')],
      [
        'deep frames',
        clientFrame(Opcode.Text, `{"t":"ask","id":2,"topic":"echo","data":${'['.repeat(500)}${']'.repeat(500)}}`),
      ],
    ];
    const flooders = await Promise.all(
      kinds.flatMap(([, frame], kind) =>
        Array.from({ length: FLOODERS_PER_KIND }, async (_, i) => {
          const wire = await openRawWire(app.url, fromClient(`192.0.2.${100 + kind * 3 + i}`));
          return {
            name: kinds[kind][0],
            wire,
            state: collect(wire),
            batch: Buffer.concat(Array.from({ length: 2_000 }, () => frame)),
          };
        }),
      ),
    );
    const watch = new LoopWatch();
    const latencies: number[] = [];
    const until = Date.now() + FLOOD_MS;
    await Promise.all([
      ...flooders.map(async ({ wire, batch }) => {
        while (Date.now() < until && !wire.socket.destroyed) {
          // Like any sender, the flooder waits for the socket to drain: the server sets the pace.
          if (!wire.socket.write(batch)) {
            await Promise.race([new Promise((r) => wire.socket.once('drain', r)), sleep(until - Date.now())]);
          }
        }
      }),
      (async () => {
        for (let id = 1; Date.now() < until; id++) {
          const sent = performance.now();
          await bystander.request({ t: 'ask', id, topic: 'echo', data: id });
          latencies.push(performance.now() - sent);
          await sleep(10);
        }
      })(),
    ]);
    const loop = watch.stop();
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)];
    figures.push(
      `floods: ${flooders.length} flooding sockets for ${FLOOD_MS} ms; loop delay max ${loop.maxMs.toFixed(0)} ms ` +
        `(quiet ${quietLoop.maxMs.toFixed(0)} ms), p99 ${loop.p99Ms.toFixed(0)} ms; bystander p99 ${p99.toFixed(1)} ms`,
    );
    for (const { name, state } of flooders) {
      // Closed with 1008 once its debt was full, or (big frames: few per read) paused so that it
      // never got there: then what it had answered stays within its budget.
      if (state.closeCode !== CloseCode.PolicyViolation) {
        expect(state.closeCode, name).toBeUndefined();
        expect(state.texts.length, name).toBeLessThanOrEqual(1 + 200 + (100 * FLOOD_MS) / 1000 + 200);
      }
    }
    const closed = flooders.filter(({ state }) => state.closeCode === CloseCode.PolicyViolation).length;
    figures.push(`floods: ${closed} of ${flooders.length} flooders closed with 1008, the others held to their budget`);
    expect(loop.p99Ms).toBeLessThan(50);
    expect(p99).toBeLessThan(50);
    // NOTE: the 50 ms bound on the maximum is asserted for each kind of flood on its own in
    // test/e2e/flood.e2e.spec.ts; several flooders at once, on a shared machine, are held to less.
    expect(loop.maxMs).toBeLessThan(quietLoop.maxMs + 250);
    for (const { wire } of flooders) wire.socket.destroy();
    bystander.close();
  });

  it('slow consumers are dropped and their memory released', async () => {
    const consumers = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const wire = await openRawWire(app.url, fromClient(`192.0.2.${220 + i}`));
        const state = collect(wire);
        wire.socket.write(clientFrame(Opcode.Text, '{"t":"sub","id":1,"channel":"news"}'));
        await until(() => state.texts.some((frame) => frame.t === 'subbed'), 3_000, 'subbed');
        const socketId = String(state.texts[0].socketId);
        wire.socket.pause();
        return { wire, socketId };
      }),
    );
    const sockets = app.get(SocketRegistry);
    const publisher = app.get(SssPublisher);
    const isConnected = (id: string) => [...sockets.all()].some((socket) => socket.id === id);
    let published = 0;
    while (consumers.some(({ socketId }) => isConnected(socketId)) && published < 100_000) {
      await publisher.publish('news', 'said', { text: 'x'.repeat(560), n: published++ });
      if (published % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    figures.push(`slow consumers: 5 dropped after ${published} messages of ~650 B`);
    expect(consumers.filter(({ socketId }) => isConnected(socketId))).toHaveLength(0);
    for (const { wire } of consumers) wire.socket.destroy();
  });
});

describe('after it all', () => {
  it('no exception escaped, and memory is back near its baseline', async () => {
    await sleep(500);
    const after = memory();
    figures.push(
      `memory: RSS ${mb(before.rss)} before, ${mb(after.rss)} after; heap ${mb(before.heapUsed)} before, ` +
        `${mb(after.heapUsed)} after; external ${mb(before.external)} before, ${mb(after.external)} after; ` +
        `whole suite ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    );
    expect(escaped).toEqual([]);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(32 * 2 ** 20);
    expect(after.external - before.external).toBeLessThan(16 * 2 ** 20);
    // NOTE: the heap and the Buffers (asserted above) are what a leak would grow. Freed pages stay
    // resident for a while, more so on newer Node lines (RSS grew 75 MB on Node 20, 191 MB on 22 and
    // 246 MB on 24 in this short form, heap and Buffers back each time), so RSS is only bounded
    // against gross growth here, and the long form reports it without a bound.
    if (!LONG) expect(after.rss - before.rss).toBeLessThan(400 * 2 ** 20);
  });
});

/** Sends the start of an upgrade request and nothing more; resolves with the status Node answers. */
async function halfOpenUpgrade(url: string): Promise<number> {
  const { hostname, port, pathname } = new URL(url);
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on('error', () => undefined);
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\n`);
  });
}
