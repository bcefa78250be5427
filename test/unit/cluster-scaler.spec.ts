import { afterEach, describe, expect, it, vi } from 'vitest';
import { RespawnBackoff } from '../../lib/cluster/respawn-backoff.js';
import { validateSssClusterOptions } from '../../lib/cluster/sss-cluster-options.validator.js';
import { SessionDataError } from '../../lib/errors/session-data.error.js';
import { StoreUnavailableError } from '../../lib/errors/store-unavailable.error.js';
import { SssConfigurationError } from '../../lib/index.js';
import { CLUSTER_IPC_TAG, type ClusterLink } from '../../lib/scaler/cluster/cluster-ipc.messages.js';
import { ClusterBroker } from '../../lib/scaler/cluster/cluster.broker.js';
import { ClusterScaler } from '../../lib/scaler/cluster/cluster.scaler.js';
import type { ScalerListener } from '../../lib/scaler/scaler.interface.js';

const RETENTION = { maxMessages: 3, maxAgeMs: 60_000 };

function listener() {
  return { onMessage: vi.fn(), onSignal: vi.fn(), onPresence: vi.fn() } satisfies ScalerListener;
}

/** A link whose other end never answers (a primary that hangs). */
function silentLink(): ClusterLink {
  return { open: true, send: () => true, onMessage: () => undefined, onClose: () => undefined, close: () => undefined };
}

describe('ClusterScaler over an in-process broker', () => {
  const brokers: ClusterBroker[] = [];
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((broker) => broker.close()));
  });

  async function broker() {
    const started = new ClusterBroker(RETENTION);
    brokers.push(started);
    await started.start();
    return started;
  }

  it('orders one channel across workers and fans out only to the workers that subscribed', async () => {
    const shared = await broker();
    const [a, b, c] = [listener(), listener(), listener()];
    const [workerA, workerB, workerC] = [0, 1, 2].map(() => new ClusterScaler({ link: shared.loopback() }));
    await Promise.all([workerA.connect(a), workerB.connect(b), workerC.connect(c)]);
    await workerA.subscribe('room');
    await workerB.subscribe('room');
    const positions = await Promise.all([workerA.publish('room', 't', 1), workerC.publish('room', 't', 2)]);
    expect(positions.map((position) => position.seq).sort()).toEqual([1, 2]);
    await vi.waitFor(() => expect(b.onMessage).toHaveBeenCalledTimes(2));
    expect(a.onMessage.mock.calls.map(([message]) => message.seq)).toEqual([1, 2]);
    expect(c.onMessage).not.toHaveBeenCalled();
    // Recovery from another worker, bounded by the primary's retention.
    await workerA.publish('room', 't', 3);
    await workerA.publish('room', 't', 4);
    const epoch = positions[0].epoch;
    expect(await workerC.historySince('room', { epoch, seq: 2 })).toMatchObject({
      recovered: true,
      messages: [{ seq: 3 }, { seq: 4 }],
    });
    expect(await workerC.historySince('room', { epoch, seq: 0 })).toMatchObject({
      recovered: false,
      reason: 'out_of_retention',
    });
    expect(await workerC.historySince('room', { epoch: 'another', seq: 0 })).toMatchObject({
      recovered: false,
      reason: 'epoch_changed',
    });
  });

  it('sends signals to every worker, the sender included', async () => {
    const shared = await broker();
    const [a, b] = [listener(), listener()];
    const [workerA, workerB] = [0, 1].map(() => new ClusterScaler({ link: shared.loopback() }));
    await Promise.all([workerA.connect(a), workerB.connect(b)]);
    await workerB.signal({ kind: 'boot', target: { type: 'user', id: 'u1' }, reason: 'bye' });
    await vi.waitFor(() => expect(a.onSignal).toHaveBeenCalledOnce());
    expect(b.onSignal).toHaveBeenCalledWith({ kind: 'boot', target: { type: 'user', id: 'u1' }, reason: 'bye' });
  });

  it('a dead worker stops receiving at once; the channel order goes on for the others', async () => {
    const shared = await broker();
    const dead = shared.loopback('dead');
    const survivor = new ClusterScaler({ link: shared.loopback() });
    const deadScaler = new ClusterScaler({ link: dead });
    await Promise.all([survivor.connect(listener()), deadScaler.connect(listener())]);
    await deadScaler.subscribe('room');
    shared.detach('dead');
    expect((await survivor.publish('room', 't', 1)).seq).toBe(1);
  });

  it('keeps presence in the primary: join/leave events to subscribed workers, a dead worker leaves at once', async () => {
    const shared = await broker();
    const [a, b] = [listener(), listener()];
    const deadLink = shared.loopback('dead');
    const workerA = new ClusterScaler({ link: shared.loopback() });
    const workerB = new ClusterScaler({ link: deadLink });
    await Promise.all([workerA.connect(a), workerB.connect(b)]);
    await Promise.all([workerA.subscribe('room'), workerB.subscribe('room')]);
    await workerA.presence.join('room', { connectionId: 'a1', userId: 'ann', info: { name: 'Ann' } });
    await workerB.presence.join('room', { connectionId: 'b1', userId: 'ann' });
    await workerB.presence.join('room', { connectionId: 'b2', userId: 'bob' });
    expect(await workerA.presence.members('room')).toEqual([
      { userId: 'ann', connections: 2, info: { name: 'Ann' } },
      { userId: 'bob', connections: 1 },
    ]);
    await vi.waitFor(() => expect(a.onPresence).toHaveBeenCalledTimes(2));
    expect(a.onPresence.mock.calls.map(([event]) => `${event.kind}:${event.userId}`)).toEqual(['join:ann', 'join:bob']);
    // Worker B dies: its connections leave at once; ann still has one, bob leaves.
    deadLink.close();
    await vi.waitFor(() => expect(a.onPresence).toHaveBeenCalledTimes(3));
    expect(a.onPresence.mock.calls[2][0]).toEqual({ channel: 'room', kind: 'leave', userId: 'bob' });
    expect(await workerA.presence.members('room')).toEqual([{ userId: 'ann', connections: 1, info: { name: 'Ann' } }]);
  });

  it("shares session data between workers, with the store's checks and their error class", async () => {
    const shared = await broker();
    const [workerA, workerB] = [0, 1].map(() => new ClusterScaler({ link: shared.loopback() }));
    await Promise.all([workerA.connect(listener()), workerB.connect(listener())]);
    await workerA.sessions.set('s1', 'cart', { items: [1, 2] });
    expect(await workerB.sessions.get('s1', 'cart')).toEqual({ items: [1, 2] });
    await workerB.sessions.delete('s1', 'cart');
    expect(await workerA.sessions.get('s1', 'cart')).toBeUndefined();
    await workerA.sessions.set('s1', 'short', 1, 30);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await workerB.sessions.get('s1', 'short')).toBeUndefined();
    await expect(workerA.sessions.set('s1', 'bad', 1n)).rejects.toBeInstanceOf(SessionDataError);
    await expect(workerA.sessions.set('s1', 'k', 1, -5)).rejects.toBeInstanceOf(SessionDataError);
    // Only the primary knows how many keys a session has.
    for (let index = 0; index < 100; index++) await workerA.sessions.set('full', `k${index}`, index);
    await expect(workerB.sessions.set('full', 'one-more', 1)).rejects.toBeInstanceOf(SessionDataError);
  });

  it('fails requests with UNAVAILABLE once the primary is gone, and at once afterwards', async () => {
    const shared = await broker();
    const link = shared.loopback();
    const scaler = new ClusterScaler({ link });
    await scaler.connect(listener());
    const inFlight = scaler.publish('room', 't', 1);
    link.close();
    await expect(inFlight).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(scaler.position('room')).rejects.toThrow(/cluster primary .* cannot be reached/);
  });

  it('fails a request the primary does not answer within requestTimeout', async () => {
    const scaler = new ClusterScaler({ link: silentLink(), requestTimeout: 50 });
    await expect(scaler.connect(listener())).rejects.toThrow('did not answer within 50 ms');
  });

  it('answers malformed requests with an error and ignores what it cannot answer, without throwing', async () => {
    const shared = await broker();
    const replies: unknown[] = [];
    shared.attach('raw', (message) => replies.push(message));
    const malformed: unknown[] = [
      null,
      'text',
      { tag: CLUSTER_IPC_TAG },
      { tag: CLUSTER_IPC_TAG, t: 'publish', id: 'x' },
      { tag: CLUSTER_IPC_TAG, t: 'publish', id: 1, channel: 7 },
      { tag: CLUSTER_IPC_TAG, t: 'publish', id: 2, channel: 'c', topic: {} },
      { tag: CLUSTER_IPC_TAG, t: 'signal', id: 3, signal: { kind: 'tell', target: { type: 'everyone' } } },
      { tag: CLUSTER_IPC_TAG, t: 'history', id: 4, channel: 'c', since: null },
      { tag: CLUSTER_IPC_TAG, t: 'whatever', id: 5, channel: 'c' },
    ];
    for (const message of malformed) expect(() => shared.receive('raw', message)).not.toThrow();
    await vi.waitFor(() => expect(replies).toHaveLength(5));
    expect(replies.map((reply) => (reply as { id: number }).id)).toEqual([1, 2, 3, 4, 5]);
    for (const reply of replies) expect(reply).toMatchObject({ t: 'reply', error: expect.any(String) });
  });

  it('refuses to connect outside a cluster worker, naming what to do', async () => {
    await expect(new ClusterScaler().connect(listener())).rejects.toThrow(/SssCluster\.run/);
    expect(() => new ClusterScaler({ requestTimeout: 0 })).toThrow(SssConfigurationError);
  });
});

describe('RespawnBackoff', () => {
  it('respawns at once after a crash of a healthy worker, and backs off while it keeps crashing', () => {
    const backoff = new RespawnBackoff({ initialDelay: 500, maxDelay: 4_000, stableAfter: 10_000 });
    expect([100, 100, 100, 100, 100, 100].map((uptime) => backoff.next(uptime))).toEqual([
      0, 500, 1_000, 2_000, 4_000, 4_000,
    ]);
    expect(backoff.next(60_000)).toBe(0);
    expect(backoff.next(100)).toBe(500);
  });
});

describe('SssCluster options', () => {
  it.each([
    [{ workers: 0 }, 'workers'],
    [{ workers: '4' }, 'workers'],
    [{ retention: { maxMessages: -1 } }, 'retention.maxMessages'],
    [{ respawn: { maxDelay: 1.5 } }, 'respawn.maxDelay'],
    [{ drainTimeout: Number.NaN }, 'drainTimeout'],
    [{ handleSignals: 'yes' }, 'handleSignals'],
  ])('rejects %j naming %s', (options, name) => {
    expect(() => validateSssClusterOptions(options)).toThrow(
      new RegExp(`SssCluster: ${name.replace('.', '\\.')} must be`),
    );
  });

  it('accepts the defaults', () => {
    expect(() => validateSssClusterOptions({})).not.toThrow();
  });
});
