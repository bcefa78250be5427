import cluster from 'node:cluster';
import type { ClusterLink } from './cluster-ipc.messages.js';

/**
 * The link of a `node:cluster` worker to its primary: this process's IPC channel. The primary
 * going away closes it (and Node ends a cluster worker whose primary is gone).
 */
export function processIpcLink(): ClusterLink | undefined {
  // NOTE: any forked process has an IPC channel (a test runner's worker, for one); only a worker
  // that SssCluster.run forked has the broker at its other end.
  if (!isSssClusterWorker() || typeof process.send !== 'function') return undefined;
  const handlers: Array<(message: unknown) => void> = [];
  const closeHandlers: Array<() => void> = [];
  let listening = true;
  const onMessage = (message: unknown) => {
    if (listening) handlers.forEach((handler) => handler(message));
  };
  const onDisconnect = () => closeHandlers.forEach((handler) => handler());
  process.on('message', onMessage);
  process.once('disconnect', onDisconnect);
  return {
    get open() {
      return listening && process.connected;
    },
    send(message) {
      if (!listening || !process.connected || !process.send) return false;
      // NOTE: with a callback, a channel that closes meanwhile reports to it instead of throwing.
      process.send(message, undefined, undefined, () => undefined);
      return true;
    },
    onMessage: (handler) => handlers.push(handler),
    onClose: (handler) => closeHandlers.push(handler),
    close() {
      listening = false;
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
    },
  };
}

/** Whether this process is a worker that `SssCluster.run` forked. */
export function isSssClusterWorker(): boolean {
  return cluster.isWorker && process.env.SSS_CLUSTER_WORKER !== undefined;
}
