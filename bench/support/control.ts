/**
 * The IPC protocol between the bench runner and the processes it starts (servers and the load
 * generator). Requests carry an id; every request gets exactly one reply with the same id.
 */
import { writeHeapSnapshot } from 'node:v8';

/** Runner → child. */
export interface ControlRequest {
  id: number;
  type: string;
  params?: unknown;
}

/** Child → runner: the answer to a request, or the first message of a child (`ready`). */
export type ControlMessage =
  { type: 'ready'; port: number } | { type: 'reply'; id: number; result?: unknown; error?: string };

/** What a server reports after a forced garbage collection. */
export interface MemoryReport {
  rss: number;
  heapUsed: number;
  /** The heap V8 holds from the system (used or not): part of the RSS. */
  heapTotal: number;
  external: number;
  /** Of `external`, what Buffers and ArrayBuffers hold. */
  arrayBuffers: number;
}

type Handler = (params: unknown) => unknown;

/**
 * Answers the runner's requests in a child process. Every server understands `gc` (collect
 * garbage, then report memory), `heapSnapshot` (collect, then write one to the path given) and
 * `stop` (exit; `--cpu-prof` writes its profile on exit).
 */
export function serveControl(handlers: Record<string, Handler> = {}): void {
  const all: Record<string, Handler> = { gc: collectGarbage, heapSnapshot, stop: stopProcess, ...handlers };
  process.on('message', (request: ControlRequest) => {
    const handler = all[request.type];
    const reply = (result: unknown, error?: string) => process.send?.({ type: 'reply', id: request.id, result, error });
    if (!handler) return reply(undefined, `unknown request ${request.type}`);
    Promise.resolve()
      .then(() => handler(request.params))
      .then(
        (result) => reply(result),
        (error: unknown) => reply(undefined, error instanceof Error ? (error.stack ?? error.message) : String(error)),
      );
  });
  // The runner's IPC channel closing means it is gone: do not outlive it.
  process.on('disconnect', () => process.exit(0));
}

/** Tells the runner which port the server listens on. */
export function announceReady(port: number): void {
  if (process.send) process.send({ type: 'ready', port });
  else console.log(`listening on ${port}`);
}

async function collectGarbage(): Promise<MemoryReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('start the server with --expose-gc');
  // Several rounds, with turns of the event loop between them, so that weak callbacks and
  // finalizers queued by one collection are collected by the next.
  for (let round = 0; round < 4; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

/** Collects garbage, then writes a heap snapshot to `path` (bench/heap.ts reads it). */
async function heapSnapshot(path: unknown): Promise<string> {
  if (typeof path !== 'string') throw new Error('heapSnapshot needs a file path');
  await collectGarbage();
  return writeHeapSnapshot(path);
}

function stopProcess(): void {
  // Answer first, then exit on the next turn.
  setTimeout(() => process.exit(0), 10);
}
