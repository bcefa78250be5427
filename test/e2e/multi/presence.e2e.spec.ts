import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SssClient, SssSubscription } from '../../../lib/client/index.js';
import type { PresenceMember } from '../../../lib/index.js';
import { ClientPool, eventually, sleep } from '../support/clients.js';
import { buildInstanceFixture, PRESENCE_TIMEOUT_MS, TestCluster } from './cluster.js';

const byUser = (members: PresenceMember[]) => [...members].sort((a, b) => a.userId.localeCompare(b.userId));

describe('presence and session data across processes (Mongo + Redis)', () => {
  let cluster: TestCluster;
  const pool = new ClientPool(() => cluster.url);

  /** A client connected straight to one instance, as `user` (and `session`) when given. */
  async function clientOn(instance: string, user?: string, session?: string): Promise<SssClient> {
    const cookies = [user && `user=${user}`, session && `session=${session}`].filter(Boolean).join('; ');
    const client = await pool.connect(
      { headers: { cookie: cookies }, reconnect: false },
      `ws://127.0.0.1:${cluster.instance(instance).port}/sss`,
    );
    expect(await client.ask('instance')).toBe(instance);
    return client;
  }

  function recordPresence(subscription: SssSubscription): Array<{ event: string; at: number }> {
    const events: Array<{ event: string; at: number }> = [];
    subscription.onEvent('join', (member) => events.push({ event: `join:${member.userId}`, at: Date.now() }));
    subscription.onEvent('leave', (member) => events.push({ event: `leave:${member.userId}`, at: Date.now() }));
    return events;
  }

  const presenceOf = async (instance: string, channel: string) =>
    byUser((await cluster.post<PresenceMember[]>(instance, '/presence', { channel })).body);

  beforeAll(async () => {
    buildInstanceFixture();
    cluster = await TestCluster.start(3, 100);
  }, 120_000);

  afterEach(() => pool.closeAll());

  afterAll(async () => {
    await cluster?.stop();
  });

  it('counts members across instances, one user with two sockets once with connections: 2', async () => {
    for (const [instance, user] of [
      ['i0', 'ann'],
      ['i1', 'ann'],
      ['i2', 'bob'],
      ['i1', undefined],
    ] as const) {
      await (await clientOn(instance, user)).subscribe('room/members');
    }
    const expected = [
      { userId: 'ann', connections: 2, info: { name: 'ANN' } },
      { userId: 'bob', connections: 1, info: { name: 'BOB' } },
    ];
    for (const instance of ['i0', 'i1', 'i2']) expect(await presenceOf(instance, 'room/members')).toEqual(expected);
    const viewer = await (await clientOn('i2')).subscribe('room/members');
    expect(byUser(await viewer.presence())).toEqual(expected);
  });

  it('sends join and leave across processes on the first and last connection only', async () => {
    const watcher = recordPresence(await (await clientOn('i0', 'watcher')).subscribe('room/events'));
    const first = await clientOn('i1', 'ann');
    await first.subscribe('room/events');
    await eventually(() => expect(watcher.map((e) => e.event)).toEqual(['join:ann']));
    const second = await clientOn('i2', 'ann');
    await second.subscribe('room/events');
    await first.close();
    await sleep(300);
    expect(watcher.map((e) => e.event)).toEqual(['join:ann']);
    await second.close();
    await eventually(() => expect(watcher.map((e) => e.event)).toEqual(['join:ann', 'leave:ann']));
  });

  it('shares session data between processes, with a TTL', async () => {
    const writer = await clientOn('i0', 'ann', 'session-1');
    const reader = await clientOn('i2', 'ann', 'session-1');
    const stranger = await clientOn('i1', 'ann', 'session-2');
    expect(await writer.ask('session.set', { key: 'draft', value: { text: 'hello' } })).toBe(true);
    expect(await reader.ask('session.get', 'draft')).toEqual({ value: { text: 'hello' } });
    expect(await stranger.ask('session.get', 'draft')).toEqual({});
    await writer.ask('session.set', { key: 'brief', value: 42, ttlMs: 2_000 });
    expect(await reader.ask('session.get', 'brief')).toEqual({ value: 42 });
    await eventually(async () => expect(await reader.ask('session.get', 'brief')).toEqual({}), 5_000);
  });

  it(`removes a SIGKILLed instance's entries with leave events within presenceTimeout * 4/3 (${PRESENCE_TIMEOUT_MS} ms)`, async () => {
    const watcher = recordPresence(await (await clientOn('i0', 'watcher')).subscribe('room/crash'));
    await (await clientOn('i2', 'kim')).subscribe('room/crash');
    await (await clientOn('i2', 'ann')).subscribe('room/crash');
    await (await clientOn('i1', 'ann')).subscribe('room/crash');
    await eventually(() => expect(watcher.map((e) => e.event).sort()).toEqual(['join:ann', 'join:kim']));
    const killedAt = Date.now();
    await cluster.kill('i2');
    await eventually(() => expect(watcher.map((e) => e.event)).toContain('leave:kim'), 10_000);
    const elapsed = watcher.find((e) => e.event === 'leave:kim')!.at - killedAt;
    console.log(`presence: leave of the killed instance's user after ${elapsed} ms`);
    // The documented bound, plus slack for a loaded machine (timers and the sweep's own round trips).
    expect(elapsed).toBeLessThanOrEqual((PRESENCE_TIMEOUT_MS * 4) / 3 + 1_000);
    // Ann still has a connection on a live instance: she stays, counted once.
    await sleep(300);
    expect(watcher.map((e) => e.event).sort()).toEqual(['join:ann', 'join:kim', 'leave:kim']);
    expect(await presenceOf('i0', 'room/crash')).toEqual([
      { userId: 'ann', connections: 1, info: { name: 'ANN' } },
      { userId: 'watcher', connections: 1, info: { name: 'WATCHER' } },
    ]);
  });
});
