import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port.js';
import { spawnSync } from 'node:child_process';
import { findExecutable, ManagedProcess } from './managed-process.js';

/** A redis-server started for the tests, on a free port, without persistence. */
export class TestRedis {
  private process?: ManagedProcess;

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    if (!findExecutable('redis-server')) {
      throw new Error(
        'redis-server is not on PATH. Install it (Debian: apt-get install redis-server) and run the tests again.',
      );
    }
    const redis = new TestRedis(await freePort());
    await redis.startProcess();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The PID of the running server. */
  get pid(): number | undefined {
    return this.process?.running ? this.process.pid : undefined;
  }

  /** Stops the server and starts a new, empty one on the same port (a restart without persistence). */
  async restart(downtimeMs = 0): Promise<void> {
    await this.process?.stop('SIGKILL');
    if (downtimeMs > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.startProcess();
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }

  private async startProcess(): Promise<void> {
    this.process = ManagedProcess.start('redis-server', 'redis-server', [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await this.process.waitForOutput(/Ready to accept connections/);
  }
}

/** Which MongoDB-compatible server the tests use. */
export type MongoKind = 'MONGO_URL' | 'mongod' | 'ferretdb' | 'mongodb-memory-server';

/**
 * A MongoDB(-compatible) server for the tests: `MONGO_URL` if set, else `mongod` on PATH, else
 * `ferretdb` (FerretDB 1.x, SQLite backend in a temp folder) on PATH, else mongodb-memory-server.
 * Every `uri(name)` is a database of its own, so suites do not see each other's data.
 */
export class TestMongo {
  private process?: ManagedProcess;
  private dataDir?: string;
  private memoryServer?: { stop(): Promise<unknown>; getUri(): string };

  private constructor(
    readonly kind: MongoKind,
    private readonly baseUrl: string,
  ) {}

  /**
   * @param options.ownProcess start a server process of our own (mongod, else ferretdb) even when
   *   `MONGO_URL` is set, e.g. to pause it with SIGSTOP; fails if neither is installed.
   */
  static async start(options: { ownProcess?: boolean } = {}): Promise<TestMongo> {
    if (process.env.MONGO_URL && !options.ownProcess) {
      return new TestMongo('MONGO_URL', process.env.MONGO_URL.replace(/\/[^/]*$/, ''));
    }
    if (findExecutable('mongod')) return TestMongo.startMongod();
    const ferretdb = findExecutable('ferretdb', goBinDirs());
    if (ferretdb) return TestMongo.startFerretDb(ferretdb);
    if (options.ownProcess) {
      throw new Error(
        'Neither mongod nor ferretdb is installed, and a MongoDB-compatible server process of our own is needed. ' +
          'Put mongod or ferretdb on PATH (`npm run test:services` builds FerretDB into $(go env GOPATH)/bin).',
      );
    }
    return TestMongo.startMemoryServer();
  }

  /** The PID of the server process, when this run started one (not for `MONGO_URL` or the memory server). */
  get pid(): number | undefined {
    return this.process?.running ? this.process.pid : undefined;
  }

  uri(database: string): string {
    return `${this.baseUrl}/${database}`;
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    await this.memoryServer?.stop();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  private static async startMongod(): Promise<TestMongo> {
    const port = await freePort();
    const mongo = new TestMongo('mongod', `mongodb://127.0.0.1:${port}`);
    mongo.dataDir = mkdtempSync(join(tmpdir(), 'sss-mongod-'));
    mongo.process = ManagedProcess.start('mongod', 'mongod', [
      '--dbpath',
      mongo.dataDir,
      '--port',
      String(port),
      '--bind_ip',
      '127.0.0.1',
    ]);
    await waitForPort(port);
    return mongo;
  }

  private static async startFerretDb(executable: string): Promise<TestMongo> {
    const [port, debugPort] = [await freePort(), await freePort()];
    const mongo = new TestMongo('ferretdb', `mongodb://127.0.0.1:${port}`);
    mongo.dataDir = mkdtempSync(join(tmpdir(), 'sss-ferretdb-'));
    mongo.process = ManagedProcess.start('ferretdb', executable, [
      '--handler=sqlite',
      `--sqlite-url=file:${mongo.dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      `--debug-addr=127.0.0.1:${debugPort}`,
      `--state-dir=${mongo.dataDir}`,
      '--telemetry=disable',
      '--log-level=error',
    ]);
    await waitForPort(port);
    return mongo;
  }

  private static async startMemoryServer(): Promise<TestMongo> {
    const moduleName = 'mongodb-memory-server';
    let created: { stop(): Promise<unknown>; getUri(): string };
    try {
      const { MongoMemoryServer } = (await import(moduleName)) as {
        MongoMemoryServer: { create(): Promise<{ stop(): Promise<unknown>; getUri(): string }> };
      };
      created = await MongoMemoryServer.create();
    } catch (error) {
      throw new Error(
        'No MongoDB-compatible server for the tests. Set MONGO_URL, or put mongod or ferretdb on PATH ' +
          '(`npm run test:services` installs redis-server and FerretDB), or install mongodb-memory-server. ' +
          `Cause: ${(error as Error).message}`,
      );
    }
    const mongo = new TestMongo('mongodb-memory-server', created.getUri().replace(/\/[^/]*$/, ''));
    mongo.memoryServer = created;
    return mongo;
  }
}

/** Where `go install`/`go build` put binaries: ferretdb is built there by scripts/install-test-services.sh. */
function goBinDirs(): string[] {
  const dirs = [join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin')];
  const go = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' });
  if (go.status === 0 && go.stdout.trim()) dirs.push(join(go.stdout.trim(), 'bin'));
  return dirs;
}
