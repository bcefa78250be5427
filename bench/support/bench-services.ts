import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { TestRedisCluster } from '../../test/support/test-redis-cluster.js';
import { TestMongo, TestRedis } from '../../test/support/test-services.js';

/**
 * Redis, a MongoDB-compatible server and (for the `sss-cluster` target) a 3-master Redis Cluster for
 * the multi-instance scenarios, started as the tests start them.
 */
export class BenchServices {
  private databases = 0;
  /** The processes of Redis and the database, for the runner's account of who used the CPU. */
  readonly pids: number[] = [];

  private constructor(
    readonly redis: TestRedis,
    readonly mongo: TestMongo,
    readonly redisCluster?: TestRedisCluster,
  ) {}

  static async start(core: number, withCluster = false): Promise<BenchServices> {
    const services = new BenchServices(
      await TestRedis.start(),
      await TestMongo.start(),
      withCluster ? await TestRedisCluster.start() : undefined,
    );
    // Off the servers' core: what they cost is not what we measure, and it must not steal the
    // servers' time. TestRedis/TestMongo start them as children of this process.
    for (const pid of childPids(process.pid)) {
      const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (name !== 'redis-server' && name !== 'ferretdb' && name !== 'mongod') continue;
      pinTo(pid, core);
      services.pids.push(pid);
    }
    return services;
  }

  /** A database of its own for each cluster run, so that runs do not see each other's channels. */
  newMongoUrl(): string {
    return this.mongo.uri(`bench_${process.pid}_${++this.databases}`);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.redis.stop(), this.mongo.stop(), this.redisCluster?.stop()]);
  }
}

/** Pins a process and all its threads to one core. */
export function pinTo(pid: number, core: number): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

function childPids(pid: number): number[] {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (children) pids.push(...children.split(/\s+/).map(Number));
  }
  return pids;
}
