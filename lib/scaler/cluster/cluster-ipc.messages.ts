import type { ChannelPosition } from '../../protocol/frames.js';
import type { PresenceConnection, PresenceEvent, ScalerMessage, ScalerSignal } from '../scaler.interface.js';

/** Marks the IPC messages of the cluster scaler, so that an app's own IPC messages pass by. */
export const CLUSTER_IPC_TAG = 'sss:cluster';

/** What a worker asks the broker (the primary); each request gets exactly one `reply`. */
export type ClusterRequest =
  | { tag: typeof CLUSTER_IPC_TAG; t: 'hello'; id: number }
  | {
      tag: typeof CLUSTER_IPC_TAG;
      t: 'publish';
      id: number;
      channel: string;
      topic: string;
      data: unknown;
      exceptSocketId?: string;
    }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'signal'; id: number; signal: ScalerSignal }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'subscribe' | 'unsubscribe' | 'position'; id: number; channel: string }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'history'; id: number; channel: string; since: ChannelPosition }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'presence-join'; id: number; channel: string; connection: PresenceConnection }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'presence-leave'; id: number; channel: string; connectionId: string }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'presence-members'; id: number; channel: string }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'session-get' | 'session-delete'; id: number; sessionId: string; key: string }
  | {
      tag: typeof CLUSTER_IPC_TAG;
      t: 'session-set';
      id: number;
      sessionId: string;
      key: string;
      value: unknown;
      ttlMs?: number;
    };

/** What the broker sends a worker. */
export type ClusterBrokerMessage =
  /** `error` (with the `SssError` code and class name it had, if any) or `value`. */
  | {
      tag: typeof CLUSTER_IPC_TAG;
      t: 'reply';
      id: number;
      value?: unknown;
      error?: string;
      code?: string;
      errorName?: string;
    }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'presence'; event: PresenceEvent }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'message'; message: ScalerMessage }
  | { tag: typeof CLUSTER_IPC_TAG; t: 'signal'; signal: ScalerSignal }
  /** The primary asks the worker to drain and exit (rolling restart, shutdown). */
  | { tag: typeof CLUSTER_IPC_TAG; t: 'drain' };

/** Whether an IPC message belongs to the cluster scaler. */
export function isClusterIpc(message: unknown): message is { tag: typeof CLUSTER_IPC_TAG; t: unknown } {
  return typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === CLUSTER_IPC_TAG;
}

/** A link between one worker and the broker: the cluster's IPC channel, or an in-process loopback. */
export interface ClusterLink {
  /** Whether messages can still be sent. */
  readonly open: boolean;
  /** Sends a message; false when the link is closed. */
  send(message: unknown): boolean;
  /** Calls `handler` with every message that arrives. */
  onMessage(handler: (message: unknown) => void): void;
  /** Calls `handler` once when the link closes for good (the primary went away). */
  onClose(handler: () => void): void;
  /** Stops listening (the IPC channel itself belongs to the process). */
  close(): void;
}
