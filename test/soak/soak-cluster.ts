import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/free-port.js';
import { ManagedProcess } from '../support/managed-process.js';
import { TestMongo, TestRedis } from '../support/test-services.js';
import { NginxBalancer } from './nginx-balancer.js';
import type { SoakTimeline } from './soak-timeline.js';

const BUILD_CONFIG = 'tsconfig.soak.json';
const INSTANCE_SCRIPT = '.tmp/soak-build/test/soak/soak-instance.main.js';

/** Compiles the soak (instance app included) with tsc, decorator metadata and all, for plain `node`. */
export function buildSoak(): void {
  execFileSync('npx', ['tsc', '-p', BUILD_CONFIG], { stdio: 'inherit' });
  if (!existsSync(INSTANCE_SCRIPT)) throw new Error(`${INSTANCE_SCRIPT} was not built`);
}

/** One Nest instance process; it keeps its port across restarts so that nginx finds it again. */
export interface SoakInstance {
  readonly name: string;
  readonly port: number;
  readonly logFile: string;
  process?: ManagedProcess;
  /** False from the kill until the restarted process printed READY. */
  up: boolean;
}

/** Downtime of one instance, in ms on the timeline; `readyAt` is undefined while it is still down. */
export interface DownWindow {
  instance: string;
  killedAt: number;
  readyAt?: number;
}

/**
 * The soak's topology, all on 127.0.0.1 and free ports: one redis-server, one MongoDB-compatible
 * server, N Nest instances (separate processes) and nginx round robin in front of them. Only what
 * this class started is stopped, each by its own PID.
 */
export class SoakCluster {
  readonly instances: SoakInstance[] = [];
  readonly downWindows: DownWindow[] = [];
  /** Spawn-to-READY times of the first start, in ms. */
  readonly startupTimes: { instance: string; ms: number }[] = [];
  /** Spawn-to-READY times of restarts after a kill, in ms. */
  readonly restartTimes: { instance: string; ms: number }[] = [];
  nginx?: NginxBalancer;

  private constructor(
    readonly redis: TestRedis,
    readonly mongo: TestMongo,
    private readonly database: string,
    private readonly logDir: string,
    private readonly timeline: SoakTimeline,
  ) {}

  /**
   * @param ownStore start a store process of our own even when MONGO_URL is set (needed to pause it).
   */
  static async start(options: {
    instances: number;
    ownStore: boolean;
    /** nginx `max_fails` of each upstream (0: never marked down). */
    nginxMaxFails: number;
    logDir: string;
    timeline: SoakTimeline;
  }): Promise<SoakCluster> {
    if (!existsSync(INSTANCE_SCRIPT)) throw new Error(`${INSTANCE_SCRIPT} is missing: build with ${BUILD_CONFIG}`);
    mkdirSync(options.logDir, { recursive: true });
    const redis = await TestRedis.start();
    let mongo: TestMongo;
    try {
      mongo = await TestMongo.start({ ownProcess: options.ownStore });
    } catch (error) {
      await redis.stop();
      throw error;
    }
    const cluster = new SoakCluster(redis, mongo, `soak_${Date.now()}`, options.logDir, options.timeline);
    try {
      for (let index = 0; index < options.instances; index++) {
        const name = `i${index}`;
        cluster.instances.push({
          name,
          port: await freePort(),
          logFile: join(options.logDir, `${name}.log`),
          up: false,
        });
      }
      const startups = await Promise.all(cluster.instances.map((instance) => cluster.spawn(instance)));
      startups.forEach((ms, index) => cluster.startupTimes.push({ instance: cluster.instances[index].name, ms }));
      cluster.nginx = await NginxBalancer.start(
        cluster.instances.map((instance) => instance.port),
        options.nginxMaxFails,
      );
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get mongoUrl(): string {
    return this.mongo.uri(this.database);
  }

  /** The WebSocket URL of one instance, bypassing nginx. */
  directUrl(instance: SoakInstance): string {
    return `ws://127.0.0.1:${instance.port}/sss`;
  }

  /** SIGKILLs an instance (no goodbye to its sockets), then starts it again on its port; resolves once READY. */
  async killAndRestart(instance: SoakInstance): Promise<void> {
    const window: DownWindow = { instance: instance.name, killedAt: this.timeline.now() };
    this.downWindows.push(window);
    instance.up = false;
    this.timeline.record('kill', instance.name);
    await instance.process?.stop('SIGKILL');
    const ms = await this.spawn(instance);
    window.readyAt = this.timeline.now();
    this.restartTimes.push({ instance: instance.name, ms });
    this.timeline.record('ready', `${instance.name} restarted in ${ms} ms`);
  }

  /** Kills Redis and starts an empty one on the same port (no persistence). */
  async restartRedis(): Promise<void> {
    this.timeline.record('redis-restart', 'begin');
    await this.redis.restart();
    this.timeline.record('redis-restart', 'ready');
  }

  /** SIGSTOPs the store process for `ms`, then SIGCONTs it; returns the pause window on the timeline. */
  async pauseStore(ms: number): Promise<{ from: number; to: number }> {
    const pid = this.mongo.pid;
    if (pid === undefined) throw new Error('The store is not a process this soak started; it cannot be paused.');
    const from = this.timeline.now();
    process.kill(pid, 'SIGSTOP');
    this.timeline.record('store-pause', `SIGSTOP ${this.mongo.kind}`);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const to = this.timeline.now();
    this.timeline.record('store-pause', `SIGCONT after ${Math.round(to - from)} ms`);
    return { from, to };
  }

  async stop(): Promise<void> {
    await this.nginx?.stop(join(this.logDir, 'nginx-error.log'));
    await Promise.all(this.instances.map((instance) => instance.process?.stop()));
    await this.mongo.stop();
    await this.redis.stop();
  }

  /** Starts the instance's process and resolves with its spawn-to-READY time in ms. */
  private async spawn(instance: SoakInstance): Promise<number> {
    const startedAt = this.timeline.now();
    const child = ManagedProcess.start(instance.name, 'node', ['--enable-source-maps', INSTANCE_SCRIPT], {
      ...process.env,
      INSTANCE: instance.name,
      PORT: String(instance.port),
      REDIS_URL: this.redis.url,
      MONGO_URL: this.mongoUrl,
      LOG_FILE: instance.logFile,
    });
    instance.process = child;
    await child.waitForOutput(/READY/, 60_000);
    instance.up = true;
    return Math.round(this.timeline.now() - startedAt);
  }
}
