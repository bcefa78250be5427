import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SoakCluster } from './soak-cluster.js';
import { SoakPublisher, SoakSubscribers } from './soak-load.js';
import { hasChaos, type SoakOptions } from './soak-options.js';
import { SoakTimeline, type SoakEvent } from './soak-timeline.js';
import { computeFigures, judge, type SoakCheck, type SoakFigures } from './soak-verdict.js';

/** Everything a run produced; written as JSON under the options' `outDir`. */
export interface SoakResult {
  pass: boolean;
  startedAt: string;
  commit: string | null;
  mode: 'chaos' | 'no-chaos';
  options: SoakOptions;
  store: string;
  checks: SoakCheck[];
  figures: SoakFigures;
  /** How long the soak waited after the last publish, and why it stopped waiting. */
  drain: { seconds: number; endedBy: 'complete' | 'max-drain' };
  startupMs: { instance: string; ms: number }[];
  restartMs: { instance: string; ms: number }[];
  storePause?: { from: number; to: number };
  /** Load average of the machine (1 min) when publishing started and stopped: other work shares the cores. */
  loadAverage: { start: number; end: number };
  /**
   * CPU seconds each process used while publishing (processes alive for the whole phase; a killed
   * instance's new process is not counted).
   */
  cpuSeconds: Record<string, number>;
  /** Event-loop delay of the soak's own process (clients and publishers): high values mean the load generator lagged. */
  loadGeneratorLagMs: { p50: number; p99: number; max: number };
  /** Warnings and errors the instances logged, most frequent first (numbers replaced by #). */
  instanceLog: { lines: number; top: { count: number; line: string }[] };
  timeline: SoakEvent[];
  resultFile: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const PUBLISH_TICK_MS = 10;

/**
 * Runs the chaos soak: starts the topology, subscribes the clients, publishes at the configured
 * rate while killing instances, restarting Redis and pausing the store as configured, drains, then
 * compares every stream with every acknowledged publish. Stops everything it started.
 */
export async function runSoak(options: SoakOptions, log: (line: string) => void = console.log): Promise<SoakResult> {
  const startedAt = new Date();
  const timeline = new SoakTimeline(log);
  const runDir = join(options.outDir, startedAt.toISOString().replace(/[:.]/g, '-'));
  mkdirSync(runDir, { recursive: true });
  log(`Soak: ${describe(options)}`);
  const cluster = await SoakCluster.start({
    instances: options.instances,
    // Pausing the store needs a process of our own, even when MONGO_URL points at a server.
    ownStore: options.storePauseSeconds > 0,
    nginxMaxFails: options.nginxMaxFails,
    logDir: join(runDir, 'instances'),
    timeline,
  });
  timeline.record(
    'topology',
    `${options.instances} instances, nginx :${cluster.nginx!.port}, store ${cluster.mongo.kind}`,
  );
  const subscribers = new SoakSubscribers(timeline);
  const publishers: SoakPublisher[] = [];
  const lag = monitorEventLoopDelay({ resolution: 1 });
  try {
    const channels = Array.from({ length: options.channels }, (_, index) => `soak/${index}`);
    await subscribers.start(cluster.nginx!.url, options.clients, channels, options.subscriptionsPerClient);
    timeline.record('subscribed', `${subscribers.subscriptions.length} subscriptions of ${options.clients} clients`);
    for (let index = 0; index < options.publishers; index++) {
      const own = cluster.instances[index % cluster.instances.length];
      const next = cluster.instances[(index + 1) % cluster.instances.length];
      const targets = [own, ...(next === own ? [] : [next])].map((instance) => ({
        instance: instance.name,
        url: cluster.directUrl(instance),
      }));
      publishers.push(await SoakPublisher.start(`p${index}`, targets, channels, options.publishTimeoutMs, timeline));
    }

    lag.enable();
    const cpuPids = cpuTargets(cluster);
    const cpuAtStart = sampleCpu();
    const loadStart = Math.round(loadavg()[0] * 100) / 100;
    const publishingFrom = timeline.now();
    const durationMs = options.durationSeconds * 1000;
    timeline.record('publishing', `${options.publishRate}/s for ${options.durationSeconds} s`);
    const perPublisher = options.publishRate / options.publishers;
    const due = publishers.map(() => 0);
    const driver = setInterval(() => {
      const elapsed = Math.min(timeline.now() - publishingFrom, durationMs);
      publishers.forEach((publisher, index) => {
        const target = Math.floor((elapsed / 1000) * perPublisher);
        for (; due[index] < target; due[index]++) publisher.publishNext();
      });
    }, PUBLISH_TICK_MS);

    const chaos: Promise<unknown>[] = [];
    let storePause: { from: number; to: number } | undefined;
    const at = (offsetMs: number, action: () => Promise<unknown>) =>
      chaos.push(
        sleep(publishingFrom + offsetMs - timeline.now())
          .then(action)
          .catch((error: Error) => {
            timeline.record('chaos-error', error.message);
            throw error;
          }),
      );
    if (options.killIntervalSeconds > 0) {
      const interval = options.killIntervalSeconds * 1000;
      for (let kill = 1; kill * interval < durationMs; kill++) {
        const victim = cluster.instances[(kill - 1) % cluster.instances.length];
        at(kill * interval, async () => {
          if (!victim.up) return timeline.record('kill-skipped', `${victim.name} is still starting`);
          return cluster.killAndRestart(victim);
        });
      }
    }
    if (options.redisRestart) at(durationMs * 0.45, () => cluster.restartRedis());
    if (options.storePauseSeconds > 0) {
      at(durationMs * 0.65, async () => {
        storePause = await cluster.pauseStore(options.storePauseSeconds * 1000);
      });
    }

    await sleep(publishingFrom + durationMs + PUBLISH_TICK_MS * 2 - timeline.now());
    clearInterval(driver);
    lag.disable();
    const cpuAtEnd = sampleCpu();
    const loadEnd = Math.round(loadavg()[0] * 100) / 100;
    const publishingEndedAt = timeline.now();
    timeline.record('publishing', 'stopped; draining');
    const chaosResults = await Promise.allSettled(chaos);
    await Promise.all([
      Promise.all(publishers.map((publisher) => publisher.settle())),
      sleep(publishingEndedAt + options.drainSeconds * 1000 - timeline.now()),
    ]);
    const figuresNow = () =>
      computeFigures({
        options,
        publishes: publishers.flatMap((publisher) => publisher.records),
        notAttempted: publishers.reduce((sum, publisher) => sum + publisher.notAttempted, 0),
        subscriptions: subscribers.subscriptions,
        clients: subscribers.clients,
        downWindows: cluster.downWindows,
        storePause,
        publishingEndedAt,
      });
    const drain = await waitForStragglers(options, publishingEndedAt, timeline, figuresNow);
    timeline.record('drained', `${drain.seconds} s, ${drain.endedBy}`);
    await Promise.all([...publishers.map((publisher) => publisher.stop()), subscribers.stop()]);

    const failedChaos = chaosResults.find((result) => result.status === 'rejected');
    if (failedChaos) throw new Error(`A chaos step failed: ${(failedChaos as PromiseRejectedResult).reason}`);

    const figures = figuresNow();
    const checks = judge(figures, options);
    const result: SoakResult = {
      pass: checks.every((check) => check.pass),
      startedAt: startedAt.toISOString(),
      commit: currentCommit(),
      mode: hasChaos(options) ? 'chaos' : 'no-chaos',
      options,
      store: cluster.mongo.kind,
      checks,
      figures,
      drain,
      startupMs: cluster.startupTimes,
      restartMs: cluster.restartTimes,
      ...(storePause ? { storePause: { from: Math.round(storePause.from), to: Math.round(storePause.to) } } : {}),
      loadAverage: { start: loadStart, end: loadEnd },
      cpuSeconds: cpuUsed(cpuPids, cpuAtStart, cpuAtEnd),
      loadGeneratorLagMs: {
        p50: Math.round(lag.percentile(50) / 1e6),
        p99: Math.round(lag.percentile(99) / 1e6),
        max: Math.round(lag.max / 1e6),
      },
      instanceLog: summarizeLogs(cluster.instances.map((instance) => instance.logFile)),
      timeline: timeline.events,
      resultFile: join(runDir, 'result.json'),
    };
    writeFileSync(result.resultFile, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(options.outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    lag.disable();
    await Promise.allSettled([...publishers.map((publisher) => publisher.stop()), subscribers.stop()]);
    await cluster.stop();
  }
}

/**
 * After the minimum drain, waits while acknowledged messages are still missing somewhere, up to
 * `maxDrainSeconds` after the last publish: a late message is not a lost one.
 */
async function waitForStragglers(
  options: SoakOptions,
  publishingEndedAt: number,
  timeline: SoakTimeline,
  figuresNow: () => SoakFigures,
): Promise<SoakResult['drain']> {
  const deadline = publishingEndedAt + Math.max(options.drainSeconds, options.maxDrainSeconds) * 1000;
  let endedBy: SoakResult['drain']['endedBy'] = 'max-drain';
  while (timeline.now() < deadline) {
    if (figuresNow().deliveries.lost === 0) {
      endedBy = 'complete';
      break;
    }
    await sleep(Math.min(3_000, deadline - timeline.now()));
  }
  return { seconds: Math.round((timeline.now() - publishingEndedAt) / 100) / 10, endedBy };
}

/** The processes whose CPU time the soak reports: itself, the instances, the store and Redis. */
function cpuTargets(cluster: SoakCluster): Map<string, number | undefined> {
  return new Map<string, number | undefined>([
    ['soak (clients + publishers)', process.pid],
    ...cluster.instances.map((instance) => [instance.name, instance.process?.pid] as [string, number | undefined]),
    [`store (${cluster.mongo.kind})`, cluster.mongo.pid],
    ['redis', cluster.redis.pid],
  ]);
}

/** utime + stime of every process, in clock ticks, keyed by PID. */
function sampleCpu(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the process is gone
    }
  }
  return ticks;
}

function cpuUsed(
  targets: Map<string, number | undefined>,
  start: Map<number, number>,
  end: Map<number, number>,
): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [name, pid] of targets) {
    if (pid === undefined || !start.has(pid) || !end.has(pid)) continue;
    // Linux reports in USER_HZ, 100 per second.
    used[name] = Math.round(end.get(pid)! - start.get(pid)!) / 100;
  }
  return used;
}

function describe(options: SoakOptions): string {
  const chaos = hasChaos(options)
    ? [
        options.killIntervalSeconds > 0 ? `SIGKILL an instance every ${options.killIntervalSeconds} s` : 'no kills',
        options.redisRestart ? 'one Redis restart' : 'no Redis restart',
        options.storePauseSeconds > 0 ? `one ${options.storePauseSeconds} s store pause` : 'no store pause',
      ].join(', ')
    : 'no chaos';
  return (
    `${options.durationSeconds} s, ${options.publishRate} publishes/s, ${options.clients} clients × ` +
    `${options.subscriptionsPerClient} of ${options.channels} channels, ${options.publishers} publishers, ` +
    `${options.instances} instances; ${chaos}`
  );
}

function currentCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { encoding: 'utf8' }).trim();
    return dirty ? `${commit} (lib/ modified)` : commit;
  } catch {
    return null;
  }
}

function summarizeLogs(files: string[]): SoakResult['instanceLog'] {
  const counts = new Map<string, number>();
  let lines = 0;
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const level = / (WARN|ERROR) (.*)$/.exec(line);
      if (!level) continue;
      lines += 1;
      const shape = `${level[1]} ${level[2].replace(/\d+/g, '#').slice(0, 160)}`;
      counts.set(shape, (counts.get(shape) ?? 0) + 1);
    }
  }
  const top = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([line, count]) => ({ count, line }));
  return { lines, top };
}
