import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../../support/free-port.js';
import { ManagedProcess } from '../../support/managed-process.js';

const APP_SCRIPT = '.tmp/cluster-e2e/test/e2e/cluster/cluster-app.main.js';

/** Compiles the cluster fixture with tsc (decorator metadata included) so that plain `node` runs it. */
export function buildClusterFixture(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.cluster-e2e.json'], { stdio: 'inherit' });
  if (!existsSync(APP_SCRIPT)) throw new Error(`${APP_SCRIPT} was not built`);
}

/** The fixture app under `SssCluster.run`, as a real primary process with its workers. */
export class TestSssCluster {
  private constructor(
    readonly primary: ManagedProcess,
    readonly port: number,
  ) {}

  static async start(workers = 2, env: NodeJS.ProcessEnv = {}): Promise<TestSssCluster> {
    const port = await freePort();
    const primary = ManagedProcess.start('cluster-primary', 'node', ['--enable-source-maps', APP_SCRIPT], {
      ...process.env,
      PORT: String(port),
      WORKERS: String(workers),
      ...env,
    });
    await primary.waitForOutput(/READY/, 60_000);
    return new TestSssCluster(primary, port);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/sss`;
  }

  async publish(channel: string, data: unknown): Promise<{ status: number; seq?: number }> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data }),
        // A request caught by a worker's shutdown can go unanswered: it is not acknowledged.
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await response.json()) as { seq?: number };
      return { status: response.status, seq: body.seq };
    } catch {
      // A worker that died or drained under the request, or no answer in time: not acknowledged.
      return { status: 0 };
    }
  }

  /** Sends a signal to the primary. */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.primary.pid!, signal);
  }

  async stop(): Promise<void> {
    await this.primary.stop('SIGTERM', 15_000);
  }
}
