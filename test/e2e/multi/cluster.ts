import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { inject } from 'vitest';
import { freePort } from '../../support/free-port.js';
import { ManagedProcess } from '../../support/managed-process.js';
import { TcpBalancer } from '../../support/tcp-balancer.js';
import { TestRedis } from '../../support/test-services.js';

// One build directory per test process: suites that run at once must not overwrite each other's build.
const BUILD_DIR = `.tmp/multi/${process.pid}`;
const INSTANCE_SCRIPT = `${BUILD_DIR}/test/e2e/multi/instance.main.js`;

/** Compiles the instance fixture with tsc (decorator metadata included) so that plain `node` runs it. */
export function buildInstanceFixture(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.multi.json', '--outDir', BUILD_DIR], { stdio: 'inherit' });
  if (!existsSync(INSTANCE_SCRIPT)) throw new Error(`${INSTANCE_SCRIPT} was not built`);
}

/** The instances' `presenceTimeout`: a killed instance's presence entries are gone within 4/3 of it. */
export const PRESENCE_TIMEOUT_MS = 1_500;

interface RunningInstance {
  name: string;
  port: number;
  process: ManagedProcess;
}

/**
 * Separate Nest processes on one Redis and one MongoDB-compatible database, with a round-robin
 * balancer in front of them (no stickiness) and one in front of the database (to take it away).
 */
export class TestCluster {
  readonly instances: RunningInstance[] = [];

  private constructor(
    readonly redis: TestRedis,
    readonly mongoGate: TcpBalancer,
    readonly balancer: TcpBalancer,
    private readonly database: string,
    private readonly maxMessages: number,
  ) {}

  static async start(size: number, maxMessages: number): Promise<TestCluster> {
    const redis = await TestRedis.start();
    const mongoPort = Number(new URL(inject('mongoBaseUrl')).port);
    const mongoGate = await TcpBalancer.start([mongoPort]);
    const balancer = await TcpBalancer.start([]);
    const cluster = new TestCluster(redis, mongoGate, balancer, `multi_${Date.now()}`, maxMessages);
    for (let index = 0; index < size; index++) await cluster.startInstance(`i${index}`);
    return cluster;
  }

  /** The database URL the instances use (through the gate). */
  get mongoUrl(): string {
    return `mongodb://127.0.0.1:${this.mongoGate.port}/${this.database}`;
  }

  /** The WebSocket URL behind the balancer. */
  get url(): string {
    return `ws://127.0.0.1:${this.balancer.port}/sss`;
  }

  instance(name: string): RunningInstance {
    const found = this.instances.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no instance ${name}`);
    return found;
  }

  async startInstance(name: string): Promise<RunningInstance> {
    const port = await freePort();
    const process = ManagedProcess.start(name, 'node', ['--enable-source-maps', INSTANCE_SCRIPT], {
      ...globalThis.process.env,
      INSTANCE: name,
      PORT: String(port),
      REDIS_URL: this.redis.url,
      MONGO_URL: this.mongoUrl,
      MAX_MESSAGES: String(this.maxMessages),
      PRESENCE_TIMEOUT: String(PRESENCE_TIMEOUT_MS),
    });
    await process.waitForOutput(/READY/);
    const running = { name, port, process };
    this.instances.push(running);
    this.balancer.backends = this.instances.map((instance) => instance.port);
    return running;
  }

  /** Kills an instance (SIGKILL: no goodbye to its sockets) and takes it out of the balancer. */
  async kill(name: string): Promise<void> {
    const running = this.instance(name);
    this.instances.splice(this.instances.indexOf(running), 1);
    this.balancer.backends = this.instances.map((instance) => instance.port);
    await running.process.stop('SIGKILL');
  }

  async post<T>(name: string, path: string, body: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`http://127.0.0.1:${this.instance(name).port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  async stop(): Promise<void> {
    await this.balancer.down();
    await Promise.all(this.instances.splice(0).map((instance) => instance.process.stop()));
    await this.mongoGate.down();
    await this.redis.stop();
  }
}
