import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { findExecutable, ManagedProcess } from './managed-process.js';

/** One master of the test cluster: its ports, its data folder and its process. */
interface ClusterNodeProcess {
  port: number;
  busPort: number;
  dir: string;
  process?: ManagedProcess;
}

/** How long a node may be unreachable before the others mark it failed, in ms. */
const NODE_TIMEOUT_MS = 3_000;

/**
 * A real Redis Cluster for the tests: `masters` redis-server processes with `--cluster-enabled yes`
 * on free ports (and free cluster-bus ports), each with its own data folder and an append-only
 * file (fsync always), joined with `redis-cli --cluster create ... --cluster-replicas 0`. Only its
 * own processes are ever stopped, by PID.
 */
export class TestRedisCluster {
  private constructor(private readonly nodes: ClusterNodeProcess[]) {}

  static async start(masters = 3): Promise<TestRedisCluster> {
    for (const command of ['redis-server', 'redis-cli']) {
      if (!findExecutable(command)) {
        throw new Error(
          `${command} is not on PATH. Install it (Debian: apt-get install redis-server redis-tools; Redis 7+ for sharded pub/sub) and run the tests again.`,
        );
      }
    }
    const nodes: ClusterNodeProcess[] = [];
    for (let index = 0; index < masters; index++) {
      nodes.push({ port: await freePort(), busPort: await freePort(), dir: mkdtempSync(join(tmpdir(), 'sss-rc-')) });
    }
    const cluster = new TestRedisCluster(nodes);
    try {
      await Promise.all(nodes.map((node) => cluster.startNode(node)));
      const created = spawnSync(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((node) => `127.0.0.1:${node.port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      if (created.status !== 0) {
        throw new Error(`redis-cli --cluster create failed (${created.status}):\n${created.stdout}\n${created.stderr}`);
      }
      await cluster.waitUntilOk();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The nodes as `{ host, port }`, for `redisCluster.nodes`. */
  get nodeList(): Array<{ host: string; port: number }> {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** The PIDs of the running servers. */
  get pids(): number[] {
    return this.nodes.flatMap((node) => (node.process?.running && node.process.pid ? [node.process.pid] : []));
  }

  /** The index (in `nodeList`) of the master that owns `key`'s hash slot. */
  async masterOf(key: string): Promise<number> {
    const redis = new Redis(this.nodes[0].port, '127.0.0.1', { lazyConnect: true });
    try {
      await redis.connect();
      const slot = (await redis.cluster('KEYSLOT', key)) as number;
      const ranges = await redis.cluster('SLOTS');
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!owner) throw new Error(`no master owns slot ${slot}`);
      const [host, port] = owner[2] ?? [];
      const index = this.nodes.findIndex((node) => node.port === port);
      if (index < 0) throw new Error(`slot ${slot} is owned by an unknown node ${host}:${port}`);
      return index;
    } finally {
      redis.disconnect();
    }
  }

  /**
   * Kills the master with SIGKILL and starts it again on the same port with the same data folder
   * (its nodes.conf and append-only file), then waits until the cluster says ok again.
   */
  async restartNode(index: number, downtimeMs: number): Promise<void> {
    const node = this.nodes[index];
    await node.process?.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.startNode(node);
    await this.waitUntilOk();
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.process?.stop()));
    for (const node of this.nodes) rmSync(node.dir, { recursive: true, force: true });
  }

  private async startNode(node: ClusterNodeProcess): Promise<void> {
    node.process = ManagedProcess.start(`redis-server :${node.port} (cluster)`, 'redis-server', [
      '--port',
      String(node.port),
      '--cluster-port',
      String(node.busPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      node.dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(NODE_TIMEOUT_MS),
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
    await node.process.waitForOutput(/Ready to accept connections/);
  }

  /** Waits until every node says `cluster_state:ok` and knows every node. */
  private async waitUntilOk(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = this.nodes.map((node) => {
        const info = spawnSync('redis-cli', ['-p', String(node.port), 'cluster', 'info'], { encoding: 'utf8' });
        return (
          /cluster_state:ok/.test(info.stdout) &&
          new RegExp(`cluster_known_nodes:${this.nodes.length}\\b`).test(info.stdout)
        );
      });
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not reach cluster_state:ok in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
