import { Logger } from '@nestjs/common';
import cluster, { type Worker } from 'node:cluster';
import { CLUSTER_IPC_TAG } from '../scaler/cluster/cluster-ipc.messages.js';
import type { ClusterBroker } from '../scaler/cluster/cluster.broker.js';
import { RespawnBackoff } from './respawn-backoff.js';
import type { SssClusterRespawn } from './sss-cluster-options.interface.js';

/** The resolved options the primary runs with. */
export interface SssClusterPrimarySettings {
  workers: number;
  respawn: Required<SssClusterRespawn>;
  startTimeout: number;
  drainTimeout: number;
}

/** One place for a worker: it always has one, except while a crashed one waits to be respawned. */
interface WorkerSlot {
  readonly index: number;
  worker?: Worker;
  startedAt: number;
  respawnTimer?: NodeJS.Timeout;
  readonly backoff: RespawnBackoff;
}

/**
 * The primary process of `SssCluster.run`: it starts the workers, respawns crashed ones (with
 * backoff when they keep crashing), restarts them one at a time on demand, and wires each to the
 * broker that orders and stores the channels' messages.
 */
export class SssClusterPrimary {
  private readonly logger = new Logger('SssCluster');
  private readonly slots: WorkerSlot[];
  /** Workers being replaced or stopped on purpose: their exit is not a crash. */
  private readonly retiring = new Set<Worker>();
  private rolling?: Promise<void>;
  private stopping = false;
  private readonly listened = new Set<WorkerSlot>();
  private onAllListening?: () => void;

  constructor(
    private readonly broker: ClusterBroker,
    private readonly settings: SssClusterPrimarySettings,
  ) {
    this.slots = Array.from({ length: settings.workers }, (_, index) => ({
      index,
      startedAt: 0,
      backoff: new RespawnBackoff(settings.respawn),
    }));
  }

  /** The process ids of the running workers. */
  get workerPids(): number[] {
    return this.slots.flatMap((slot) => (slot.worker?.process.pid ? [slot.worker.process.pid] : []));
  }

  /** Starts every worker; resolves once each listens. */
  async start(): Promise<void> {
    cluster.on('message', (worker, message) => this.broker.receive(String(worker.id), message));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    // A worker that crashes before listening is respawned (with backoff): wait for a successor.
    const allListening = new Promise<void>((resolve) => (this.onAllListening = resolve));
    for (const slot of this.slots) this.fork(slot);
    await allListening;
  }

  /**
   * Replaces every worker, one at a time: a new worker starts, and the old one drains (its
   * sockets are closed with 1001 and reconnect to the others, recovering what they missed) only
   * once the new one listens. Concurrent calls share one restart.
   */
  restartWorkers(): Promise<void> {
    this.rolling ??= this.roll().finally(() => (this.rolling = undefined));
    return this.rolling;
  }

  /** Drains every worker and stops respawning them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.rolling?.catch(() => undefined);
    await Promise.all(
      this.slots.map(async (slot) => {
        clearTimeout(slot.respawnTimer);
        const worker = slot.worker;
        slot.worker = undefined;
        if (worker) await this.drain(worker);
      }),
    );
    await this.broker.close();
  }

  private async roll(): Promise<void> {
    for (const slot of this.slots) {
      if (this.stopping) return;
      const old = slot.worker;
      if (!old) continue;
      this.retiring.add(old);
      const fresh = this.fork(slot);
      try {
        await this.listening(fresh, this.settings.startTimeout);
      } catch (error) {
        // The old worker keeps serving; the new one is given up.
        this.retiring.delete(old);
        this.retiring.add(fresh);
        slot.worker = old;
        fresh.process.kill('SIGKILL');
        throw error;
      }
      await this.drain(old);
    }
  }

  private fork(slot: WorkerSlot): Worker {
    const worker = cluster.fork({ SSS_CLUSTER_WORKER: String(slot.index) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    worker.once('listening', () => {
      this.listened.add(slot);
      if (this.listened.size === this.slots.length) this.onAllListening?.();
    });
    // A send to a worker that just died reports to the callback instead of emitting an error.
    this.broker.attach(String(worker.id), (message) => {
      if (worker.isConnected()) worker.send(message, undefined, () => undefined);
    });
    return worker;
  }

  /** Resolves once `worker` listens; rejects when it exits first or takes longer than `timeoutMs`. */
  private listening(worker: Worker, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`worker ${worker.process.pid} did not listen within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onListening = () => done();
      const onExit = () => done(new Error(`worker ${worker.process.pid} exited before listening`));
      const done = (error?: Error) => {
        clearTimeout(timer);
        worker.off('listening', onListening);
        worker.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      worker.once('listening', onListening);
      worker.once('exit', onExit);
    });
  }

  /** Asks a worker to close its app (sockets get 1001) and exit; kills it after `drainTimeout`. */
  private async drain(worker: Worker): Promise<void> {
    this.retiring.add(worker);
    if (worker.isDead()) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    if (worker.isConnected()) worker.send({ tag: CLUSTER_IPC_TAG, t: 'drain' }, undefined, () => undefined);
    else worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.logger.warn(`Worker ${worker.process.pid} did not drain within ${this.settings.drainTimeout} ms; killed.`);
      worker.process.kill('SIGKILL');
    }, this.settings.drainTimeout);
    await exited;
    clearTimeout(timer);
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.broker.detach(String(worker.id));
    if (this.retiring.delete(worker)) return;
    const slot = this.slots.find((candidate) => candidate.worker === worker);
    if (!slot || this.stopping) return;
    slot.worker = undefined;
    const delay = slot.backoff.next(Date.now() - slot.startedAt);
    this.logger.warn(
      `Worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); ${delay === 0 ? 'respawning' : `respawning in ${delay} ms`}.`,
    );
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = undefined;
      if (!this.stopping) this.fork(slot);
    }, delay);
  }
}
