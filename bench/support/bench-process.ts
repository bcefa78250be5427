import { spawn, type ChildProcess } from 'node:child_process';
import { descriptorLimit } from './descriptor-limit.js';
import type { ControlMessage } from './control.js';

export interface BenchProcessOptions {
  /** The CPU core the process (and every thread it starts) is pinned to. */
  core: number;
  env?: NodeJS.ProcessEnv;
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** How long to wait for the process to report `ready`. */
  readyTimeoutMs?: number;
}

/**
 * A node process the runner started (a server or the load generator), pinned to one core with
 * `taskset`, driven over IPC (see control.ts). Stopped only through its own PID.
 */
export class BenchProcess {
  /** Every process started and not yet exited, so that an interrupted run leaves none behind. */
  private static readonly live = new Set<BenchProcess>();
  /** Whether processes start with their soft descriptor limit raised to the hard one (looked up once). */
  private static raiseLimit?: boolean;
  private readonly output: string[] = [];
  private readonly exited: Promise<void>;
  private readonly pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  private nextId = 1;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.shift();
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString()}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    BenchProcess.live.add(this);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => BenchProcess.live.delete(this));
    child.on('message', (message: ControlMessage) => {
      if (message.type !== 'reply') return;
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new Error(`${this.name}: ${message.error}`));
      else waiting.resolve(message.result);
    });
    child.once('exit', (code, signal) => {
      for (const waiting of this.pending.values()) {
        waiting.reject(new Error(`${this.name} exited (${code ?? signal}):\n${this.recentOutput}`));
      }
      this.pending.clear();
    });
  }

  /** The port the process listens on (0 for the load generator). */
  port = 0;

  /** Starts `node <script>` under `taskset` and waits for its `ready` message. */
  static async start(name: string, script: string, options: BenchProcessOptions): Promise<BenchProcess> {
    const args = ['taskset', '-c', String(options.core), process.execPath, ...(options.nodeArgs ?? []), script];
    // A soft descriptor limit below the hard one (often 1,024) is raised for the idle scenario's
    // connections. sh and taskset exec in place, so the IPC channel (an inherited fd) and the PID
    // are node's.
    BenchProcess.raiseLimit ??= descriptorLimit('soft') < descriptorLimit('hard');
    const raised = BenchProcess.raiseLimit;
    const command = raised ? 'sh' : args[0];
    const commandArgs = raised ? ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', ...args] : args.slice(1);
    const child = spawn(command, commandArgs, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const started = new BenchProcess(name, child);
    started.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not become ready:\n${started.recentOutput}`));
      }, options.readyTimeoutMs ?? 60_000);
      child.on('message', (message: ControlMessage) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        resolve(message.port);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${started.recentOutput}`));
      });
    });
    return started;
  }

  /** Kills every process still running (the runner was interrupted). */
  static killAll(): void {
    for (const started of BenchProcess.live) started.child.kill('SIGKILL');
  }

  get pid(): number {
    return this.child.pid!;
  }

  get recentOutput(): string {
    return this.output.join('').slice(-4000);
  }

  /** Sends a request and resolves with the child's reply. */
  request<T>(type: string, params?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.child.send({ id, type, params });
    });
  }

  /** Asks the process to exit (so that `--cpu-prof` can write its profile); SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.request('stop').catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
