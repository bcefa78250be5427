import { Logger } from '@nestjs/common';
import { SssConfigurationError } from '../errors/sss-configuration.error.js';
import { SssMessages } from '../sss.messages.js';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { isClusterIpc } from '../scaler/cluster/cluster-ipc.messages.js';
import { ClusterBroker } from '../scaler/cluster/cluster.broker.js';
import { isSssClusterWorker } from '../scaler/cluster/process-ipc.link.js';
import { validateSssClusterOptions } from './sss-cluster-options.validator.js';
import type { SssClusterOptions } from './sss-cluster-options.interface.js';
import { SssClusterPrimary } from './sss-cluster.primary.js';

/** What a worker's bootstrap may return: its Nest app, closed when the worker drains. */
export interface SssClusterApp {
  close(): Promise<void>;
}

/**
 * Runs a Nest app on every core of one machine, with no external service: `run` starts N worker
 * processes (`node:cluster`) that share one port, each a full app whose `SssModule` uses
 * `ClusterScaler`; the primary process orders and keeps every channel's messages and connects the
 * workers over IPC. Crashed workers are respawned, and their clients reconnect to the others and
 * recover what they missed. SIGUSR2 to the primary (or `restartWorkers()`) restarts the workers
 * one at a time without losing an acknowledged message.
 *
 * For more than one machine, use `MongoRedisScaler` (Redis + MongoDB) instead.
 *
 * @example
 * ```ts
 * // main.ts
 * void SssCluster.run(async () => {
 *   const app = await NestFactory.create(AppModule); // SssModule.forRoot({ scaler: new ClusterScaler() })
 *   await app.listen(3000);
 *   return app; // closed (sockets drained with 1001) when the worker is replaced
 * });
 * ```
 */
export class SssCluster {
  /** Whether this process is a worker started by `SssCluster.run` (where `ClusterScaler` works). */
  static get isWorker(): boolean {
    return isSssClusterWorker();
  }

  /**
   * In the primary, starts the workers and resolves with the primary's handle once every worker
   * listens; in a worker, runs `bootstrap` and resolves with `null`. A worker whose bootstrap
   * throws exits with code 1 (and is respawned with backoff). Throws `SssConfigurationError` for
   * an invalid option.
   */
  static async run(
    bootstrap: () => Promise<SssClusterApp | void>,
    options: SssClusterOptions = {},
  ): Promise<SssClusterPrimary | null> {
    validateSssClusterOptions(options);
    if (cluster.isWorker && !isSssClusterWorker()) throw new SssConfigurationError(SssMessages.clusterInForeignWorker);
    if (cluster.isWorker) {
      await runWorker(bootstrap);
      return null;
    }
    const broker = new ClusterBroker({
      maxMessages: options.retention?.maxMessages ?? 1_000,
      maxAgeMs: options.retention?.maxAgeMs ?? 86_400_000,
    });
    await broker.start();
    const primary = new SssClusterPrimary(broker, {
      workers: options.workers ?? availableParallelism(),
      respawn: {
        initialDelay: options.respawn?.initialDelay ?? 500,
        maxDelay: options.respawn?.maxDelay ?? 30_000,
        stableAfter: options.respawn?.stableAfter ?? 10_000,
      },
      startTimeout: options.startTimeout ?? 60_000,
      drainTimeout: options.drainTimeout ?? 15_000,
    });
    if (options.handleSignals !== false) handlePrimarySignals(primary);
    await primary.start();
    return primary;
  }
}

async function runWorker(bootstrap: () => Promise<SssClusterApp | void>): Promise<void> {
  const logger = new Logger('SssCluster');
  let app: SssClusterApp | void;
  try {
    app = await bootstrap();
  } catch (error) {
    logger.error(`Worker ${process.pid} failed to start`, error as Error);
    process.exit(1);
  }
  let draining = false;
  process.on('message', (message: unknown) => {
    if (!isClusterIpc(message) || message.t !== 'drain' || draining) return;
    draining = true;
    if (!app || typeof app.close !== 'function') {
      // No app to close: the app's own shutdown hooks (enableShutdownHooks) handle SIGTERM.
      process.kill(process.pid, 'SIGTERM');
      return;
    }
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`Worker ${process.pid} failed to close`, error as Error);
        process.exit(1);
      },
    );
  });
}

function handlePrimarySignals(primary: SssClusterPrimary): void {
  const logger = new Logger('SssCluster');
  process.on('SIGUSR2', () => {
    logger.log('SIGUSR2: restarting the workers one at a time');
    primary.restartWorkers().then(
      () => logger.log('Rolling restart done'),
      (error: unknown) => logger.error(`Rolling restart stopped: ${(error as Error).message}`),
    );
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining the workers`);
    void primary.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
