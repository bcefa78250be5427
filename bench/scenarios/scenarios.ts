import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose from 'mongoose';
import {
  OUR_MESSAGES_COLLECTION,
  type AskResult,
  type ClientLibraryResult,
  type PublishCostResult,
  type FanOutParams,
  type FanOutResult,
  type MeasuredWindow,
  type RecoveryParams,
  type RecoverySample,
} from '../load/load-params.js';
import { isOurs, type TargetName } from '../load/wire-protocols.js';
import type { BenchConfig, ScenarioName } from '../support/bench-config.js';
import { BenchProcess } from '../support/bench-process.js';
import type { BenchServices } from '../support/bench-services.js';
import type { MemoryReport } from '../support/control.js';
import { systemBusyMicros, totalCpuMicros } from '../support/proc-stat.js';

/** Servers run on this core, the load generator (and Redis, MongoDB, the runner) on the other. */
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

/** One run of one scenario on one target. */
export interface Sample {
  scenario: ScenarioName;
  target: TargetName;
  repeat: number;
  metrics: Record<string, number>;
  details?: unknown;
  error?: string;
}

export interface ScenarioContext {
  config: BenchConfig;
  services?: BenchServices;
  ticksPerSecond: number;
}

const LOAD_GENERATOR_SCRIPT = fileURLToPath(new URL('../load/load-generator.js', import.meta.url));

function serverScript(context: ScenarioContext, target: TargetName): string {
  if (target === 'sss-baseline') {
    if (!context.config.baselineDir) throw new Error('sss-baseline needs BENCH_BASELINE');
    return join(context.config.baselineDir, 'bench', 'targets', 'sss', 'server.js');
  }
  if (target === 'sss-history-off' || target === 'sss-cluster') return serverScript(context, 'sss');
  return fileURLToPath(new URL(`../targets/${target}/server.js`, import.meta.url));
}

/**
 * Starts `count` instances of a target's server, pinned to the server core, adding each to
 * `started` as soon as it runs (so that a failed start leaves none behind).
 */
async function startServers(
  context: ScenarioContext,
  target: TargetName,
  count: number,
  label: string,
  env: NodeJS.ProcessEnv,
  started: BenchProcess[],
): Promise<BenchProcess[]> {
  const profileDir = context.config.cpuProfileDir;
  const starting = await Promise.allSettled(
    Array.from({ length: count }, async (_, index) => {
      const nodeArgs = ['--expose-gc'];
      if (profileDir) {
        nodeArgs.push(
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=${target}-${label}-i${index + 1}.cpuprofile`,
        );
      }
      const server = await BenchProcess.start(`${target}#${index + 1}`, serverScript(context, target), {
        core: SERVER_CORE,
        env: { ...env, INSTANCE: `i${index + 1}` },
        nodeArgs,
      });
      started.push(server);
      return server;
    }),
  );
  const failed = starting.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return starting.map((result) => (result as PromiseFulfilledResult<BenchProcess>).value);
}

/**
 * Starts servers and a load generator, runs `body`, and stops them all whatever happens. Adds
 * `foreignCpuShare` to the sample: the CPU that processes other than the bench's used meanwhile,
 * in cores (other work on the machine makes a run noisy).
 */
async function withProcesses<T extends Sample | Sample[]>(
  context: ScenarioContext,
  target: TargetName,
  count: number,
  label: string,
  env: NodeJS.ProcessEnv,
  body: (servers: BenchProcess[], load: BenchProcess) => Promise<T>,
): Promise<T> {
  const started: BenchProcess[] = [];
  try {
    const servers = await startServers(context, target, count, label, env, started);
    // The client scenario measures the load generator itself: profile it there.
    const loadArgs =
      context.config.cpuProfileDir && label.startsWith('client')
        ? ['--cpu-prof', `--cpu-prof-dir=${context.config.cpuProfileDir}`, `--cpu-prof-name=load-${label}.cpuprofile`]
        : [];
    const load = await BenchProcess.start('load', LOAD_GENERATOR_SCRIPT, { core: LOAD_CORE, nodeArgs: loadArgs });
    started.push(load);
    const ours = [process.pid, ...(context.services?.pids ?? []), ...started.map((child) => child.pid)];
    const cpu = () => ({
      at: performance.now(),
      system: systemBusyMicros(context.ticksPerSecond),
      ours: totalCpuMicros(ours, context.ticksPerSecond),
    });
    const before = cpu();
    const result = await body(servers, load);
    const after = cpu();
    const foreignCpuShare =
      (after.system - before.system - (after.ours - before.ours)) / ((after.at - before.at) * 1000);
    for (const sample of Array.isArray(result) ? result : [result]) sample.metrics.foreignCpuShare = foreignCpuShare;
    return result;
  } finally {
    await Promise.all(started.map((process) => process.stop()));
  }
}

/** Next to each `--cpu-prof` profile, the measured window, for profile-summary.js. */
function saveProfileWindow(
  context: ScenarioContext,
  target: TargetName,
  label: string,
  count: number,
  window: MeasuredWindow,
) {
  const dir = context.config.cpuProfileDir;
  if (!dir) return;
  for (let index = 1; index <= count; index++) {
    writeFileSync(join(dir, `${target}-${label}-i${index}.window.json`), JSON.stringify(window));
  }
}

const origin = (server: BenchProcess) => `ws://127.0.0.1:${server.port}`;

function clusterEnv(context: ScenarioContext, target: TargetName): NodeJS.ProcessEnv {
  if (!context.services) throw new Error('Redis and MongoDB were not started');
  const env: NodeJS.ProcessEnv = { REDIS_URL: context.services.redis.url };
  if (target === 'sss-cluster') {
    if (!context.services.redisCluster) throw new Error('the Redis Cluster was not started');
    delete env.REDIS_URL;
    env.REDIS_CLUSTER = context.services.redisCluster.nodeList.map((node) => `${node.host}:${node.port}`).join(',');
  }
  if (target === 'sss-history-off') env.HISTORY = 'off';
  else if (isOurs(target) || (target === 'raw-ws' && context.config.rawHistory)) {
    env.MONGO_URL = context.services.newMongoUrl();
  }
  return env;
}

export async function runAskScenario(context: ScenarioContext, target: TargetName, repeat: number): Promise<Sample> {
  const { config } = context;
  return withProcesses(context, target, 1, `ask-r${repeat}`, {}, async ([server], load) => {
    const result: AskResult = await load.request<AskResult>('ask', {
      target,
      origin: origin(server),
      connections: config.ask.connections,
      inFlight: config.ask.inFlight,
      warmupMs: config.warmupMs,
      measureMs: config.measureMs,
      serverPids: [server.pid],
      ticksPerSecond: context.ticksPerSecond,
    });
    saveProfileWindow(context, target, `ask-r${repeat}`, 1, result.window);
    return {
      scenario: 'ask',
      target,
      repeat,
      metrics: {
        cpuPerOpUs: result.cpuMicros / result.roundTrips,
        userCpuPerOpUs: result.userMicros / result.roundTrips,
        opsPerSecond: result.roundTrips / result.seconds,
        p50Ms: result.latencyP50Ms,
        p99Ms: result.latencyP99Ms,
        serverCoreShare: result.cpuMicros / (result.seconds * 1e6),
        readsPerOp: result.readSyscalls / result.roundTrips,
        writesPerOp: result.writeSyscalls / result.roundTrips,
        errors: result.errors,
      },
    };
  });
}

export async function runFanOutScenario(
  context: ScenarioContext,
  target: TargetName,
  repeat: number,
  scenario: 'fan-out' | 'fan-out-saturated' | 'many-channels',
): Promise<Sample> {
  const { config } = context;
  const oneChannel = (subscribers: number, rate: number) => ({
    connections: subscribers,
    channels: 1,
    subscribersPerChannel: subscribers,
    rate,
  });
  const shape =
    scenario === 'fan-out'
      ? oneChannel(config.fanOut.subscribers, config.fanOut.rate)
      : scenario === 'fan-out-saturated'
        ? oneChannel(config.saturated.subscribers, config.saturated.rate)
        : {
            connections: config.manyChannels.connections,
            channels: config.manyChannels.channels,
            subscribersPerChannel: config.manyChannels.subscribersPerChannel,
            rate: config.manyChannels.rate,
          };
  const env = clusterEnv(context, target);
  return withProcesses(context, target, 2, `${scenario}-r${repeat}`, env, async (servers, load) => {
    const params: FanOutParams = {
      target,
      origins: servers.map(origin),
      ...shape,
      warmupMs: config.warmupMs,
      measureMs: config.measureMs,
      drainTimeoutMs: config.drainTimeoutMs,
      setupTimeoutMs: config.setupTimeoutMs,
      serverPids: servers.map((server) => server.pid),
      ticksPerSecond: context.ticksPerSecond,
    };
    const result = await load.request<FanOutResult>('fanOut', params);
    saveProfileWindow(context, target, `${scenario}-r${repeat}`, 2, result.window);
    return {
      scenario,
      target,
      repeat,
      metrics: {
        cpuPerDeliveryUs: result.cpuMicros / result.deliveries,
        userCpuPerDeliveryUs: result.userMicros / result.deliveries,
        deliveriesPerSecond: result.deliveries / result.seconds,
        p50Ms: result.latencyP50Ms,
        p99Ms: result.latencyP99Ms,
        deliveredPercent: (100 * result.totalDelivered) / result.totalExpected,
        outOfOrder: result.outOfOrder,
        publishErrors: result.publishErrors,
        setupSeconds: result.setupSeconds,
        arrivalsPerSecond: result.arrivalsPerSecond,
        ackedInTimePercent: result.ackedInTimePercent,
        serverPeakRssMB: result.serverPeakRssMB,
      },
      details: result,
    };
  });
}

export async function runIdleMemoryScenario(
  context: ScenarioContext,
  target: TargetName,
  repeat: number,
): Promise<Sample> {
  const count = context.config.idle.connections;
  return withProcesses(context, target, 1, `idle-r${repeat}`, {}, async ([server], load) => {
    const params = { target, origin: origin(server) };
    // Warm the server's connection path first, so that the baseline already holds its code and caches.
    await load.request('openIdle', { ...params, count: Math.min(200, count) });
    await load.request('closeIdle');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await server.request<MemoryReport>('gc');
    const opened = await load.request<number>('openIdle', { ...params, count });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await server.request<MemoryReport>('gc');
    return {
      scenario: 'idle-memory',
      target,
      repeat,
      metrics: {
        rssPerConnectionKB: (after.rss - before.rss) / opened / 1024,
        heapPerConnectionKB: (after.heapUsed - before.heapUsed) / opened / 1024,
        connections: opened,
      },
      details: { before, after },
    };
  });
}

export async function runRecoveryScenario(
  context: ScenarioContext,
  source: RecoveryParams['source'],
): Promise<Sample[]> {
  const { config } = context;
  const env = clusterEnv(context, 'sss');
  return withProcesses(context, 'sss', 2, `recovery-${source}`, env, async (servers, load) => {
    const params: RecoveryParams = {
      source,
      origins: servers.map(origin),
      serverPids: servers.map((server) => server.pid),
      ticksPerSecond: context.ticksPerSecond,
      missed: config.recovery.missed,
      samples: config.recovery.samples,
      mongoUrl: source === 'store' ? env.MONGO_URL : undefined,
    };
    const samples = await load.request<RecoverySample[]>('recovery', params);
    // Both sources share the scenario's rows: each metric name says which it is.
    return samples.map((sample, index) => ({
      scenario: 'recovery',
      target: 'sss',
      repeat: index,
      metrics: {
        [`${source}ConnectToAllMs`]: sample.connectToAllMs,
        [`${source}SubscribeToAllMs`]: sample.subscribeToAllMs,
        [`${source}CpuPerMessageUs`]: sample.cpuMicros / Math.max(1, sample.received),
        [`${source}ReceivedPercent`]: (100 * sample.received) / config.recovery.missed,
        ...(sample.driverRead && { storeDriverReadMs: sample.driverRead.ms }),
      },
      details: sample,
      error: !(sample.recovered && sample.inOrder)
        ? 'not recovered in order'
        : sample.driverRead && sample.driverRead.documents !== config.recovery.missed
          ? `the driver read ${sample.driverRead.documents} of ${config.recovery.missed} messages`
          : undefined,
    }));
  });
}

/**
 * The client library's own cost: the load generator runs our `SssClient` (target `sss`) or a bare
 * `ws` client (target `raw-ws`) against the same server (ours, embedded scaler), and measures its
 * own CPU per delivery and per ask.
 */
export async function runClientLibraryScenario(
  context: ScenarioContext,
  client: 'sss' | 'raw-ws',
  repeat: number,
): Promise<Sample> {
  const { config } = context;
  return withProcesses(context, 'sss', 1, `client-${client}-r${repeat}`, {}, async ([server], load) => {
    const result = await load.request<ClientLibraryResult>('clientLibrary', {
      client,
      origin: origin(server),
      subscribers: config.client.subscribers,
      burst: config.client.burst,
      connections: config.client.connections,
      inFlight: config.client.inFlight,
      warmupMs: config.warmupMs,
      measureMs: config.measureMs,
    });
    return {
      scenario: 'client',
      target: client,
      repeat,
      metrics: {
        clientCpuPerDeliveryUs: result.deliveryCpuMicros / result.deliveries,
        deliveriesPerSecond: result.deliveriesPerSecond,
        clientCpuPerAskUs: result.askCpuMicros / result.asks,
        asksPerSecond: result.asksPerSecond,
      },
      details: result,
    };
  });
}

const FILLER_CHANNELS = 2_000;

/**
 * Puts `count` messages of other channels into a target's history before it starts, in the shape
 * it stores them (ours: `sss_messages`, as `MessageStore` writes them), spread over enough
 * channels that none exceeds the retention.
 */
async function fillHistory(mongoUrl: string, target: TargetName, count: number): Promise<void> {
  if (count === 0) return;
  const client = await new mongoose.mongo.MongoClient(mongoUrl).connect();
  try {
    const collection = client.db().collection(isOurs(target) ? OUR_MESSAGES_COLLECTION : 'messages');
    const at = new Date();
    const json = '{"text":"a chat line of a modest size","n":1}';
    for (let first = 0; first < count; first += 1_000) {
      const documents = Array.from({ length: Math.min(1_000, count - first) }, (_, offset) => {
        const index = first + offset;
        const channel = `filler/${index % FILLER_CHANNELS}`;
        const seq = Math.floor(index / FILLER_CHANNELS) + 1;
        return isOurs(target)
          ? { _id: new mongoose.mongo.ObjectId(), c: channel, s: seq, e: 'filler', t: 'm', j: json, at }
          : { c: channel, d: JSON.parse(json) as unknown, at };
      });
      await collection.insertMany(documents, { ordered: false });
    }
  } finally {
    await client.close();
  }
}

/**
 * What a publish with history costs the instance that takes it, one publish at a time, against a
 * bare `ws` relay that does a driver `insertOne` and a Redis `PUBLISH` (target `raw-ws`): with an
 * empty history (`stored` 0) and with `stored` messages of other channels already stored.
 */
export async function runPublishCostScenario(
  context: ScenarioContext,
  target: TargetName,
  repeat: number,
  stored: number,
): Promise<Sample> {
  const { config } = context;
  if (!context.services) throw new Error('Redis and MongoDB were not started');
  const mongoUrl = context.services.newMongoUrl();
  await fillHistory(mongoUrl, target, stored);
  const env: NodeJS.ProcessEnv = { REDIS_URL: context.services.redis.url, MONGO_URL: mongoUrl };
  const label = `publish-${stored}-r${repeat}`;
  return withProcesses(context, target, 1, label, env, async ([server], load) => {
    const result = await load.request<PublishCostResult>('publishCost', {
      target,
      origin: origin(server),
      serverPids: [server.pid],
      ticksPerSecond: context.ticksPerSecond,
      rate: config.publish.rate,
      warmupMs: config.warmupMs,
      measureMs: config.measureMs,
    });
    const prefix = stored === 0 ? 'empty' : 'stored';
    return {
      scenario: 'publish',
      target,
      repeat,
      metrics: {
        [`${prefix}CpuPerPublishUs`]: result.cpuMicros / Math.max(1, result.publishes),
        [`${prefix}P50Ms`]: result.latencyP50Ms,
        [`${prefix}P99Ms`]: result.latencyP99Ms,
        [`${prefix}Errors`]: result.errors,
      },
      details: { ...result, stored },
    };
  });
}
