import { SessionDataError } from '../../errors/session-data.error.js';
import { SssError } from '../../errors/sss.error.js';
import { StoreUnavailableError } from '../../errors/store-unavailable.error.js';
import { SssConfigurationError } from '../../errors/sss-configuration.error.js';
import type { ChannelPosition } from '../../protocol/frames.js';
import { SssMessages } from '../../sss.messages.js';
import type {
  HistorySince,
  PresenceConnection,
  PresenceEvent,
  PresenceMember,
  Scaler,
  ScalerListener,
  ScalerMessage,
  ScalerPresence,
  ScalerPublishOptions,
  ScalerSessionStore,
  ScalerSignal,
} from '../scaler.interface.js';
import { checkSessionKey, encodeSessionValue, sessionTtlOf } from '../session/session-data.limits.js';
import { CLUSTER_IPC_TAG, isClusterIpc, type ClusterLink, type ClusterRequest } from './cluster-ipc.messages.js';
import type { ClusterScalerOptions } from './cluster-scaler-options.interface.js';
import { processIpcLink } from './process-ipc.link.js';

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

type RequestBody = ClusterRequest extends infer R ? (R extends unknown ? Omit<R, 'tag' | 'id'> : never) : never;

/**
 * The scaler of a worker started by `SssCluster.run`: every core of one machine, no services. The
 * primary process is the broker: it gives each channel one total order, keeps the history (with
 * `SssCluster.run`'s retention) and fans messages out over the cluster's IPC, so a client recovers
 * on any worker. Epochs are the primary's: they change when the whole cluster restarts. Presence
 * and session data live in the primary too: every worker sees the same, and the presence
 * connections of a worker that dies (even SIGKILL) leave at once, with leave events.
 *
 * When the primary cannot be reached (it exited, or does not answer within `requestTimeout`),
 * publishes and recoveries fail with `StoreUnavailableError` (`UNAVAILABLE`) instead of waiting.
 *
 * @example
 * ```ts
 * SssModule.forRoot({ scaler: new ClusterScaler() })
 * ```
 */
export class ClusterScaler implements Scaler {
  private readonly requestTimeout: number;
  private link?: ClusterLink;
  private listener?: ScalerListener;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private closed = false;

  readonly presence: ScalerPresence = {
    join: async (channel: string, connection: PresenceConnection): Promise<void> => {
      await this.request({ t: 'presence-join', channel, connection });
    },
    leave: async (channel: string, connectionId: string): Promise<void> => {
      await this.request({ t: 'presence-leave', channel, connectionId });
    },
    members: async (channel: string): Promise<PresenceMember[]> =>
      (await this.request({ t: 'presence-members', channel })) as PresenceMember[],
  };

  /** Checked here first, so that a bad key or value fails without a round trip to the primary. */
  readonly sessions: ScalerSessionStore = {
    get: async (sessionId: string, key: string): Promise<unknown> => {
      checkSessionKey(sessionId, key);
      return this.request({ t: 'session-get', sessionId, key });
    },
    set: async (sessionId: string, key: string, value: unknown, ttlMs?: number): Promise<void> => {
      checkSessionKey(sessionId, key);
      sessionTtlOf(ttlMs);
      encodeSessionValue(key, value);
      const body: RequestBody = { t: 'session-set', sessionId, key, value };
      if (ttlMs !== undefined) body.ttlMs = ttlMs;
      await this.request(body);
    },
    delete: async (sessionId: string, key: string): Promise<void> => {
      checkSessionKey(sessionId, key);
      await this.request({ t: 'session-delete', sessionId, key });
    },
  };

  constructor(private readonly options: ClusterScalerOptions = {}) {
    const timeout = options.requestTimeout;
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 2_147_483_647)) {
      throw new SssConfigurationError(SssMessages.clusterScalerTimeout(String(timeout)));
    }
    this.requestTimeout = timeout ?? 10_000;
  }

  async connect(listener: ScalerListener): Promise<void> {
    const link = this.options.link ?? processIpcLink();
    if (!link) throw new SssConfigurationError(SssMessages.clusterScalerOutsideCluster);
    this.link = link;
    this.listener = listener;
    link.onMessage((message) => this.receive(message));
    link.onClose(() => this.failPending(SssMessages.clusterPrimaryUnreachable));
    await this.request({ t: 'hello' });
  }

  async publish(
    channel: string,
    topic: string,
    data: unknown,
    options?: ScalerPublishOptions,
  ): Promise<ChannelPosition> {
    const body: RequestBody = { t: 'publish', channel, topic, data };
    if (options?.exceptSocketId) body.exceptSocketId = options.exceptSocketId;
    return (await this.request(body)) as ChannelPosition;
  }

  async signal(signal: ScalerSignal): Promise<void> {
    await this.request({ t: 'signal', signal });
  }

  async subscribe(channel: string): Promise<void> {
    await this.request({ t: 'subscribe', channel });
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.request({ t: 'unsubscribe', channel });
  }

  async position(channel: string): Promise<ChannelPosition> {
    return (await this.request({ t: 'position', channel })) as ChannelPosition;
  }

  async historySince(channel: string, since: ChannelPosition): Promise<HistorySince> {
    return (await this.request({ t: 'history', channel, since })) as HistorySince;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failPending(SssMessages.scalerClosed);
    this.link?.close();
    this.listener = undefined;
  }

  private request(body: RequestBody): Promise<unknown> {
    const link = this.link;
    if (this.closed) return Promise.reject(new StoreUnavailableError(SssMessages.scalerClosed));
    if (!link?.open) return Promise.reject(new StoreUnavailableError(SssMessages.clusterPrimaryUnreachable));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StoreUnavailableError(SssMessages.clusterPrimaryTimeout(this.requestTimeout)));
      }, this.requestTimeout);
      this.pending.set(id, { resolve, reject, timer });
      if (!link.send({ tag: CLUSTER_IPC_TAG, id, ...body })) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new StoreUnavailableError(SssMessages.clusterPrimaryUnreachable));
      }
    });
  }

  private receive(raw: unknown): void {
    if (!isClusterIpc(raw)) return;
    const message = raw as Record<string, unknown>;
    switch (message.t) {
      case 'message':
        this.listener?.onMessage(message.message as ScalerMessage);
        return;
      case 'signal':
        this.listener?.onSignal(message.signal as ScalerSignal);
        return;
      case 'presence':
        this.listener?.onPresence(message.event as PresenceEvent);
        return;
      case 'reply': {
        const pending = this.pending.get(message.id as number);
        if (!pending) return;
        this.pending.delete(message.id as number);
        clearTimeout(pending.timer);
        if (typeof message.error === 'string') pending.reject(errorOf(message));
        else pending.resolve(message.value);
        return;
      }
    }
  }

  private failPending(reason: string): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new StoreUnavailableError(reason));
    }
  }
}

/** The error a broker reported, as the class it had there when it matters to the caller. */
function errorOf(reply: Record<string, unknown>): Error {
  const message = reply.error as string;
  if (reply.errorName === 'SessionDataError') return new SessionDataError(message);
  if (reply.errorName === 'StoreUnavailableError') return new StoreUnavailableError(message);
  if (typeof reply.code === 'string') return new SssError(reply.code, message);
  return new Error(message);
}
