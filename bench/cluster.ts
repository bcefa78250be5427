/**
 * `npm run bench:cluster`: our app as one process (embedded scaler) against the same app under
 * `SssCluster.run` on every core (ClusterScaler), on this machine: ask round trips and fan-out;
 * then the time from SIGKILL of a worker to every one of its clients receiving again. Nothing is
 * pinned (the cluster's point is to use every core), so the load generator (this process) shares
 * the cores with the servers. Settings: BENCH_CLUSTER_* (bench/README.md). Prints a markdown table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { SssClient } from '../lib/client/index.js';
import { runAsk } from './load/ask.load.js';
import { runFanOut } from './load/fan-out.load.js';
import { clockTicksPerSecond } from './support/proc-stat.js';

const SERVER_SCRIPT = new URL('./targets/sss-cluster/server.js', import.meta.url).pathname;
const env = (name: string, fallback: number) => Number(process.env[`BENCH_CLUSTER_${name}`] ?? fallback);
const settings = {
  workers: env('WORKERS', cpus().length),
  warmupMs: env('WARMUP_MS', 2_000),
  measureMs: env('MEASURE_MS', 5_000),
  askConnections: env('ASK_CONNECTIONS', 64),
  askInFlight: env('ASK_IN_FLIGHT', 8),
  fanOutSubscribers: env('FANOUT_SUBSCRIBERS', 1_000),
  fanOutRate: env('FANOUT_RATE', 20),
  crashClients: env('CRASH_CLIENTS', 100),
  crashSamples: env('CRASH_SAMPLES', 3),
};
/** A TCP port that was free a moment ago on 127.0.0.1 (the cluster's workers share a fixed one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  child: ChildProcess;
  port: number;
  pids: number[];
  output: string[];
}

async function startServer(workers: number): Promise<Server> {
  const port = await freePort();
  const child = spawn('node', [SERVER_SCRIPT], {
    env: { ...process.env, WORKERS: String(workers), PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const pids = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY within 60 s:\n${output.join('')}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = /READY ([\d,]+)/.exec(output.join(''));
      if (match) {
        clearTimeout(timer);
        resolve(match[1].split(',').map(Number));
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${output.join('')}`)));
  });
  return { child, port, pids, output };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

type Row = Record<string, string | number>;

async function throughput(label: string, workers: number, ticksPerSecond: number): Promise<Row> {
  const server = await startServer(workers);
  const origin = `ws://127.0.0.1:${server.port}`;
  try {
    const common = {
      target: 'sss' as const,
      serverPids: server.pids,
      ticksPerSecond,
      warmupMs: settings.warmupMs,
      measureMs: settings.measureMs,
    };
    const ask = await runAsk({
      ...common,
      origin,
      connections: settings.askConnections,
      inFlight: settings.askInFlight,
    });
    const fanOut = await runFanOut({
      ...common,
      origins: [origin],
      connections: settings.fanOutSubscribers,
      channels: 1,
      subscribersPerChannel: settings.fanOutSubscribers,
      rate: settings.fanOutRate,
      drainTimeoutMs: 15_000,
      setupTimeoutMs: 120_000,
    });
    return {
      setup: label,
      'ask round trips/s': Math.round(ask.roundTrips / ask.seconds),
      'ask p50 / p99 (ms)': `${ask.latencyP50Ms.toFixed(1)} / ${ask.latencyP99Ms.toFixed(1)}`,
      'server CPU per ask (µs)': Math.round(ask.cpuMicros / Math.max(1, ask.roundTrips)),
      'fan-out deliveries/s': Math.round(fanOut.deliveries / fanOut.seconds),
      'fan-out p50 / p99 (ms)': `${fanOut.latencyP50Ms.toFixed(1)} / ${fanOut.latencyP99Ms.toFixed(1)}`,
      'server CPU per delivery (µs)': (fanOut.cpuMicros / Math.max(1, fanOut.deliveries)).toFixed(1),
      'delivered (%) / out of order': `${((100 * fanOut.totalDelivered) / Math.max(1, fanOut.totalExpected)).toFixed(2)} / ${fanOut.outOfOrder}`,
    };
  } finally {
    await stopServer(server);
  }
}

/**
 * Clients subscribe to one channel while it gets a message every 10 ms; a worker is killed; the
 * figure is the time until the last of its clients receives again (missed messages included).
 */
async function crashToRecovered(spreadWindow: number): Promise<Row> {
  const server = await startServer(settings.workers);
  const url = `ws://127.0.0.1:${server.port}/sss`;
  const clients: SssClient[] = [];
  const worst: number[] = [];
  let complete = true;
  try {
    const publisher = new SssClient(url, { reconnect: { spreadWindow: 100, initialDelay: 50, maxDelay: 500 } });
    clients.push(publisher);
    await publisher.connect();
    for (let sample = 0; sample < settings.crashSamples; sample++) {
      const channel = `bench/crash-${spreadWindow}-${sample}`;
      const subscribers: Array<{ pid: number; last: number; seqs: number[] }> = [];
      await Promise.all(
        Array.from({ length: settings.crashClients }, async () => {
          const client = new SssClient(url, { reconnect: { spreadWindow } });
          clients.push(client);
          await client.connect();
          const entry = { pid: await client.ask<number>('worker'), last: 0, seqs: [] as number[] };
          const subscription = await client.subscribe(channel);
          subscription.on('m', (_data, meta) => {
            entry.last = Date.now();
            entry.seqs.push(meta.seq);
          });
          subscribers.push(entry);
        }),
      );
      let publishing = true;
      let lastAcked = 0;
      const loop = (async () => {
        for (let n = 0; publishing; n++) {
          try {
            lastAcked = (await publisher.ask<{ seq: number }>('publish', { channel, data: { n } })).seq;
          } catch {
            // The publisher's own worker may be the one killed: not acknowledged, goes on.
          }
          await sleep(10);
        }
      })();
      await sleep(500);
      const victim =
        subscribers.find((entry) => entry.pid !== subscribers[0].pid && entry.pid)?.pid ?? subscribers[0].pid;
      const victims = subscribers.filter((entry) => entry.pid === victim);
      const killedAt = Date.now();
      process.kill(victim, 'SIGKILL');
      const deadline = killedAt + 20_000;
      while (victims.some((entry) => entry.last <= killedAt) && Date.now() < deadline) await sleep(5);
      worst.push(Math.max(...victims.map((entry) => entry.last)) - killedAt);
      await sleep(300);
      publishing = false;
      await loop;
      await sleep(500);
      for (const entry of subscribers) {
        const contiguous = entry.seqs.every((seq, index) => index === 0 || seq === entry.seqs[index - 1] + 1);
        if (!contiguous || entry.seqs.at(-1)! < lastAcked) complete = false;
      }
      console.log(
        `crash sample ${sample + 1}: ${victims.length} of ${subscribers.length} clients on the killed worker, worst ${worst.at(-1)} ms`,
      );
      await Promise.all(clients.splice(1).map((client) => client.close()));
      // Let the respawned worker start before the next kill.
      await sleep(4_000);
    }
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await stopServer(server);
  }
  const sorted = [...worst].sort((a, b) => a - b);
  return {
    'client reconnect.spreadWindow (ms)': spreadWindow,
    'SIGKILL → every client receiving again, worst per sample (ms)': worst.join(', '),
    median: sorted[Math.floor(sorted.length / 2)],
    'acked messages all delivered in order': complete ? 'yes' : 'NO',
  };
}

function table(rows: Row[]): string {
  const columns = Object.keys(rows[0]);
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((column) => row[column]).join(' | ')} |`),
  ].join('\n');
}

async function main(): Promise<void> {
  const ticksPerSecond = clockTicksPerSecond();
  console.log(`${cpus().length}× ${cpus()[0]?.model}, Node ${process.version}, settings ${JSON.stringify(settings)}`);
  const rows = [
    await throughput('one process (embedded scaler)', 0, ticksPerSecond),
    await throughput(`SssCluster, ${settings.workers} workers`, settings.workers, ticksPerSecond),
  ];
  const crash = [await crashToRecovered(1_000), await crashToRecovered(250)];
  console.log(`\n${table(rows)}\n\n${table(crash)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
