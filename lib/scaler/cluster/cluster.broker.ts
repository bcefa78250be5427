import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { SssRetention } from '../../interfaces/sss-module-options.interface.js';
import { MemoryScaler } from '../memory.scaler.js';
import { SssError } from '../../errors/sss.error.js';
import type { PresenceEvent, ScalerMessage, ScalerSignal } from '../scaler.interface.js';
import { CLUSTER_IPC_TAG, isClusterIpc, type ClusterBrokerMessage, type ClusterLink } from './cluster-ipc.messages.js';

/** One worker as the broker sees it. */
interface BrokerPeer {
  readonly id: string;
  readonly send: (message: ClusterBrokerMessage) => void;
  readonly channels: Set<string>;
  /** The presence connections this worker joined, by channel: they leave when it dies. */
  readonly presence: Map<string, Set<string>>;
}

const SIGNAL_TARGETS = new Set(['all', 'user', 'session', 'socket', 'channel']);

/**
 * The primary's half of the cluster scaler: it gives every channel one total order (it alone
 * assigns seqs), keeps the bounded history every worker recovers clients from (the embedded
 * scaler's, with the same retention), and fans messages out to the workers that subscribed.
 * Requests from workers are trusted (they run the same app) but checked: a malformed one gets an
 * error reply, or is ignored when it cannot be answered, and never throws here.
 */
export class ClusterBroker {
  /** New at every start of the primary; the channels' epochs are new with it. */
  readonly id = randomUUID();
  private readonly logger = new Logger('SssClusterBroker');
  private readonly history: MemoryScaler;
  private readonly peers = new Map<string, BrokerPeer>();
  private readonly subscribers = new Map<string, Set<BrokerPeer>>();
  private malformedLogged = false;

  constructor(retention: Required<SssRetention>) {
    this.history = new MemoryScaler(retention);
  }

  async start(): Promise<void> {
    await this.history.connect({
      onMessage: (message) => this.fanOut(message),
      onSignal: () => undefined,
      onPresence: (event) => this.fanOutPresence(event),
    });
  }

  /** A worker joined; `send` carries messages to it. */
  attach(peerId: string, send: (message: ClusterBrokerMessage) => void): void {
    this.detach(peerId);
    this.peers.set(peerId, { id: peerId, send, channels: new Set(), presence: new Map() });
  }

  /** A worker is gone (exited, crashed): its subscriptions end at once. */
  detach(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    this.peers.delete(peerId);
    for (const channel of peer.channels) this.removeSubscriber(channel, peer);
    // Leave events reach the workers still subscribed (the dead one is gone from the lists).
    for (const [channel, connectionIds] of peer.presence) {
      for (const connectionId of connectionIds) void this.history.presence.leave(channel, connectionId);
    }
  }

  /** Handles one IPC message from a worker; messages that are not the cluster scaler's are ignored. */
  receive(peerId: string, raw: unknown): void {
    if (!isClusterIpc(raw)) return;
    const peer = this.peers.get(peerId);
    if (!peer) return;
    void this.answer(peer, raw as Record<string, unknown>);
  }

  /** A loopback link for a scaler in this process (tests, or a single-process setup). */
  loopback(peerId: string = randomUUID()): ClusterLink {
    const toScaler: Array<(message: unknown) => void> = [];
    const onClose: Array<() => void> = [];
    let open = true;
    // JSON round trips and a later turn, as over IPC: nothing shares objects or re-enters.
    const copy = (message: unknown) => JSON.parse(JSON.stringify(message)) as unknown;
    this.attach(peerId, (message) => {
      const copied = copy(message);
      setImmediate(() => open && toScaler.forEach((handler) => handler(copied)));
    });
    return {
      get open() {
        return open;
      },
      send: (message) => {
        if (!open) return false;
        const copied = copy(message);
        setImmediate(() => open && this.receive(peerId, copied));
        return true;
      },
      onMessage: (handler) => toScaler.push(handler),
      onClose: (handler) => onClose.push(handler),
      close: () => {
        if (!open) return;
        open = false;
        this.detach(peerId);
        onClose.forEach((handler) => handler());
      },
    };
  }

  async close(): Promise<void> {
    this.peers.clear();
    this.subscribers.clear();
    await this.history.close();
  }

  private async answer(peer: BrokerPeer, request: Record<string, unknown>): Promise<void> {
    const id = request.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) return this.logMalformed(peer, request);
    try {
      const value = await this.handle(peer, request);
      peer.send({ tag: CLUSTER_IPC_TAG, t: 'reply', id, value });
    } catch (error) {
      const reply: ClusterBrokerMessage = { tag: CLUSTER_IPC_TAG, t: 'reply', id, error: String(error) };
      if (error instanceof Error) reply.error = error.message;
      if (error instanceof SssError) Object.assign(reply, { code: error.code, errorName: error.name });
      peer.send(reply);
    }
  }

  private async handle(peer: BrokerPeer, request: Record<string, unknown>) {
    const { t, channel } = request;
    if (t === 'hello') return { brokerId: this.id };
    if (t === 'signal') {
      if (!isSignal(request.signal)) throw new Error(`malformed signal from worker ${peer.id}`);
      for (const target of this.peers.values()) {
        target.send({ tag: CLUSTER_IPC_TAG, t: 'signal', signal: request.signal });
      }
      return null;
    }
    if (typeof t === 'string' && t.startsWith('session-')) return this.handleSession(peer, request);
    if (typeof channel !== 'string') throw new Error(`malformed "${String(t)}" request from worker ${peer.id}`);
    switch (t) {
      case 'publish': {
        if (typeof request.topic !== 'string') throw new Error(`malformed publish from worker ${peer.id}`);
        const exceptSocketId = typeof request.exceptSocketId === 'string' ? request.exceptSocketId : undefined;
        return this.history.publish(channel, request.topic, request.data, exceptSocketId ? { exceptSocketId } : {});
      }
      case 'subscribe':
        peer.channels.add(channel);
        this.addSubscriber(channel, peer);
        return null;
      case 'unsubscribe':
        if (peer.channels.delete(channel)) this.removeSubscriber(channel, peer);
        return null;
      case 'position':
        return this.history.position(channel);
      case 'history': {
        const since = request.since as { epoch?: unknown; seq?: unknown } | undefined;
        if (typeof since?.epoch !== 'string' || typeof since.seq !== 'number') {
          throw new Error(`malformed history request from worker ${peer.id}`);
        }
        return this.history.historySince(channel, { epoch: since.epoch, seq: since.seq });
      }
      case 'presence-join': {
        const connection = request.connection as Record<string, unknown> | undefined;
        const { connectionId, userId, info } = connection ?? {};
        if (typeof connectionId !== 'string' || typeof userId !== 'string') {
          throw new Error(`malformed presence join from worker ${peer.id}`);
        }
        let joined = peer.presence.get(channel);
        if (!joined) peer.presence.set(channel, (joined = new Set()));
        joined.add(connectionId);
        const entry = { connectionId, userId, ...(isRecord(info) ? { info } : {}) };
        await this.history.presence.join(channel, entry);
        return null;
      }
      case 'presence-leave': {
        if (typeof request.connectionId !== 'string')
          throw new Error(`malformed presence leave from worker ${peer.id}`);
        const joined = peer.presence.get(channel);
        joined?.delete(request.connectionId);
        if (joined?.size === 0) peer.presence.delete(channel);
        await this.history.presence.leave(channel, request.connectionId);
        return null;
      }
      case 'presence-members':
        return this.history.presence.members(channel);
      default:
        throw new Error(`unknown request "${String(t)}" from worker ${peer.id}`);
    }
  }

  /** Session data requests; the store checks ids, keys, values and TTLs itself. */
  private async handleSession(peer: BrokerPeer, request: Record<string, unknown>) {
    const { t, sessionId, key } = request;
    if (typeof sessionId !== 'string' || typeof key !== 'string') {
      throw new Error(`malformed "${String(t)}" request from worker ${peer.id}`);
    }
    const { sessions } = this.history;
    switch (t) {
      case 'session-get':
        return sessions.get(sessionId, key);
      case 'session-set': {
        await sessions.set(sessionId, key, request.value, request.ttlMs as number | undefined);
        return null;
      }
      case 'session-delete':
        await sessions.delete(sessionId, key);
        return null;
      default:
        throw new Error(`unknown request "${String(t)}" from worker ${peer.id}`);
    }
  }

  private addSubscriber(channel: string, peer: BrokerPeer): void {
    let peers = this.subscribers.get(channel);
    if (!peers) {
      peers = new Set();
      this.subscribers.set(channel, peers);
      void this.history.subscribe(channel);
    }
    peers.add(peer);
  }

  private removeSubscriber(channel: string, peer: BrokerPeer): void {
    const peers = this.subscribers.get(channel);
    if (!peers?.delete(peer) || peers.size > 0) return;
    this.subscribers.delete(channel);
    void this.history.unsubscribe(channel);
  }

  private fanOut(message: ScalerMessage): void {
    const peers = this.subscribers.get(message.channel);
    if (!peers) return;
    for (const peer of peers) peer.send({ tag: CLUSTER_IPC_TAG, t: 'message', message });
  }

  private fanOutPresence(event: PresenceEvent): void {
    const peers = this.subscribers.get(event.channel);
    if (!peers) return;
    for (const peer of peers) peer.send({ tag: CLUSTER_IPC_TAG, t: 'presence', event });
  }

  private logMalformed(peer: BrokerPeer, request: unknown): void {
    if (this.malformedLogged) return;
    this.malformedLogged = true;
    this.logger.warn(`Ignored a malformed cluster message from worker ${peer.id} (logged once): ${preview(request)}`);
  }
}

function isSignal(signal: unknown): signal is ScalerSignal {
  if (typeof signal !== 'object' || signal === null) return false;
  const { kind, target } = signal as { kind?: unknown; target?: { type?: unknown; id?: unknown } };
  if (kind !== 'tell' && kind !== 'boot') return false;
  if (typeof target !== 'object' || target === null || !SIGNAL_TARGETS.has(target.type as string)) return false;
  if (target.type !== 'all' && typeof target.id !== 'string') return false;
  const rest = signal as { topic?: unknown; reason?: unknown };
  return kind === 'tell' ? typeof rest.topic === 'string' : typeof rest.reason === 'string';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function preview(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 200);
  } catch {
    return String(value);
  }
}
