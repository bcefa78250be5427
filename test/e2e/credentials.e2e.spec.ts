import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SssClientError, SssSubscriptionClosedEvent } from '../../lib/client/index.js';
import { SssPublisher, type SssModuleOptions } from '../../lib/index.js';
import { RedisScaler } from '../../lib/mongo-redis.js';
import { TestRedis } from '../support/test-services.js';
import { CredentialsAppModule, CredentialsGateway, RoomGuard } from './fixtures/credentials/credentials.app.js';
import { signToken, type TokenClaims } from './fixtures/credentials/signed-token.js';
import { DeviceCookieGuard, SessionDenyList, TokenSessionGuard } from './fixtures/credentials/token-session.guard.js';
import { ClientPool, eventually, sleep } from './support/clients.js';
import { RawSocket } from './support/raw-socket.js';
import { upgradeStatus } from './support/upgrade-status.js';

// Short enough for a test, long enough for a loaded machine: refresh 1.5 s before expiry, 1 s grace.
const LEAD_MS = 1_500;
const GRACE_MS = 1_000;
const LIFETIME_MS = 2_500;

interface Instance {
  app: INestApplication;
  url: string;
}

async function startInstance(redisUrl: string, options: SssModuleOptions = {}): Promise<Instance> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      CredentialsAppModule.register({
        scaler: new RedisScaler({ redis: redisUrl }),
        credentials: { refreshLeadTime: LEAD_MS, expiryGrace: GRACE_MS },
        denyListRedisUrl: redisUrl,
        ...options,
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `ws://127.0.0.1:${port}/sss` };
}

let sessionCounter = 0;

function token(overrides: Partial<TokenClaims> = {}): string {
  return signToken({
    sub: 'ann',
    sid: `s-${++sessionCounter}`,
    exp: Date.now() + LIFETIME_MS,
    rooms: ['a', 'b'],
    ...overrides,
  });
}

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

describe('credentials on long-lived connections (two instances, Redis-only scaler)', () => {
  let redis: TestRedis;
  let a: Instance;
  let b: Instance;
  const pool = new ClientPool(() => a.url);

  beforeAll(async () => {
    redis = await TestRedis.start();
    [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
  });

  afterEach(async () => {
    await pool.closeAll();
  });

  afterAll(async () => {
    await Promise.all([a?.app.close(), b?.app.close()]);
    await redis?.stop();
  });

  it('keeps the socket and its subscriptions alive past the first expiry when the client refreshes', async () => {
    const claims = { sub: 'ann', sid: 'refreshing', rooms: ['a', 'b'] };
    const first = Date.now() + LIFETIME_MS;
    let tokensGiven = 0;
    const client = await pool.connect({
      headers: { ...bearer(signToken({ ...claims, exp: first })), cookie: 'device=laptop-7' },
      getToken: () => {
        tokensGiven += 1;
        return signToken({ ...claims, exp: Date.now() + LIFETIME_MS });
      },
    });
    const expiring: number[] = [];
    client.on('credentialsExpiring', ({ expiresIn }) => expiring.push(expiresIn));
    const socketId = client.socketId;
    const room = await client.subscribe('room/a');
    const news = await client.subscribe('news');
    const received: string[] = [];
    room.on('say', (text) => received.push(`room:${String(text)}`));
    news.on('say', (text) => received.push(`news:${String(text)}`));
    const gateway = a.app.get(CredentialsGateway);
    const joinsBefore = gateway.joins;
    const roomGuard = a.app.get(RoomGuard);

    // Past the first expiry plus its grace period.
    await sleep(LIFETIME_MS + GRACE_MS + 700);

    expect(client.status).toBe('open');
    expect(client.socketId).toBe(socketId);
    expect(tokensGiven).toBeGreaterThanOrEqual(1);
    expect(expiring.length).toBeGreaterThanOrEqual(1);
    expect(expiring[0]).toBeLessThanOrEqual(LEAD_MS);
    const me = await client.ask<{ expiresAt: number; sessionId: string }>('whoami');
    expect(me.sessionId).toBe('refreshing');
    expect(me.expiresAt).toBeGreaterThan(first);
    // The subscriptions were re-checked by their guards, without running the @Channel handler again.
    expect(roomGuard.calls).toContainEqual({ channel: 'room/a', recheck: true });
    // A session guard that reads only a cookie still sees the upgrade request's cookie on a refresh.
    expect(a.app.get(DeviceCookieGuard).seen).toContainEqual({ device: 'laptop-7', refresh: true });
    expect(gateway.joins).toBe(joinsBefore);
    // And they still receive, from the other instance.
    const publisher = b.app.get(SssPublisher);
    await publisher.publish('room/a', 'say', 'hello');
    await publisher.publish('news', 'say', 'headline');
    await eventually(() => expect(received).toEqual(['room:hello', 'news:headline']));
  });

  it('reconnects with a fresh credential from getToken (tokenParam), not the one that expired', async () => {
    const claims = { sub: 'ann', sid: 'reconnecting', rooms: ['a'] };
    const issued: number[] = [];
    const client = await pool.connect({
      tokenParam: 'token',
      getToken: () => {
        const exp = Date.now() + LIFETIME_MS;
        issued.push(exp);
        return signToken({ ...claims, exp });
      },
    });
    const connects: string[] = [];
    client.on('connect', (info) => connects.push(info.socketId));
    const room = await client.subscribe('room/a');
    // Past the expiry of the credential the first connection was opened with.
    await sleep(LIFETIME_MS + 200);
    expect(issued.length).toBeGreaterThanOrEqual(2);
    await client.ask('dropMe');
    await eventually(() => expect(connects).toHaveLength(1), 3_000);
    expect(client.status).toBe('open');
    const me = await client.ask<{ expiresAt: number; sessionId: string }>('whoami');
    // The first credential had expired before the drop: the new connection was opened with a later one.
    expect(issued[0]).toBeLessThan(Date.now());
    expect(me.sessionId).toBe('reconnecting');
    expect(issued).toContain(me.expiresAt);
    expect(me.expiresAt).toBeGreaterThan(issued[0]);
    expect(room.closed).toBe(false);
  });

  it('closes a socket that never refreshes with 4003 at its expiry plus the grace period, and does not reconnect', async () => {
    const expiresAt = Date.now() + LIFETIME_MS;
    const client = pool.create({ headers: bearer(token({ exp: expiresAt })) });
    const connects: string[] = [];
    client.on('connect', (info) => connects.push(info.socketId));
    const expiring: number[] = [];
    client.on('credentialsExpiring', ({ expiresIn }) => expiring.push(expiresIn));
    const expired: Array<{ code: number; reason: string; at: number }> = [];
    client.on('credentialsExpired', (event) => expired.push({ ...event, at: Date.now() }));
    await client.connect();
    const sub = await client.subscribe('news');
    const closed: SssSubscriptionClosedEvent[] = [];
    sub.onEvent('closed', (event) => closed.push(event));
    const pending = client.ask('whoami', undefined, { timeout: Infinity });
    void pending.catch(() => undefined);

    await eventually(() => expect(expired).toHaveLength(1), LIFETIME_MS + GRACE_MS + 3_000);
    expect(expired[0]).toMatchObject({ code: 4003, reason: 'The credential expired and was not refreshed.' });
    expect(expired[0].at).toBeGreaterThanOrEqual(expiresAt + GRACE_MS - 50);
    expect(expiring).toHaveLength(1);
    expect(client.status).toBe('closed');
    expect(closed).toEqual([expect.objectContaining({ reason: 'credentials_expired' })]);
    expect((closed[0].error as SssClientError).code).toBe('CREDENTIALS_EXPIRED');
    await sleep(500);
    expect(connects).toHaveLength(1);
    expect(client.status).toBe('closed');
  });

  it('ends only the subscriptions whose guards refuse the refreshed credential, with the guard reason', async () => {
    const claims = { sub: 'ann', sid: 'losing-b' };
    const client = await pool.connect({
      headers: bearer(signToken({ ...claims, exp: Date.now() + LIFETIME_MS, rooms: ['a', 'b'] })),
      // The new credential no longer lists room b.
      getToken: () => signToken({ ...claims, exp: Date.now() + LIFETIME_MS, rooms: ['a'] }),
    });
    const roomA = await client.subscribe('room/a');
    const roomB = await client.subscribe('room/b');
    const news = await client.subscribe('news');
    const closedB: SssSubscriptionClosedEvent[] = [];
    roomB.onEvent('closed', (event) => closedB.push(event));
    let otherClosed = 0;
    roomA.onEvent('closed', () => (otherClosed += 1));
    news.onEvent('closed', () => (otherClosed += 1));
    const received: string[] = [];
    roomA.on('say', (text) => received.push(String(text)));

    await eventually(() => expect(closedB).toHaveLength(1), LIFETIME_MS + 2_000);
    expect(closedB[0].reason).toBe('Not a member of room b');
    expect(closedB[0].error?.code).toBe('FORBIDDEN');
    expect(roomB.closed).toBe(true);
    expect(otherClosed).toBe(0);
    expect(client.status).toBe('open');
    // The server holds room/b no more: subscribing again is refused by the same guard.
    await expect(client.subscribe('room/b')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await b.app.get(SssPublisher).publish('room/a', 'say', 'still here');
    await eventually(() => expect(received).toEqual(['still here']));
  });

  it('refuses a refresh that names another user with 4004; the client does not reconnect', async () => {
    const client = await pool.connect({
      headers: bearer(token({ sub: 'ann', sid: 'switch' })),
      getToken: () => token({ sub: 'mallory', sid: 'switch' }),
    });
    const expired: Array<{ code: number; reason: string }> = [];
    client.on('credentialsExpired', (event) => expired.push(event));
    let connects = 0;
    client.on('connect', () => (connects += 1));
    await eventually(() => expect(expired).toHaveLength(1), LIFETIME_MS + 2_000);
    expect(expired[0]).toEqual({
      code: 4004,
      reason: 'The refreshed credential was refused: The refreshed credential names another user or session.',
    });
    await sleep(400);
    expect(client.status).toBe('closed');
    expect(connects).toBe(0);
  });

  it('retries a failing getToken with backoff, reporting each failure, and refreshes once it works', async () => {
    const claims = { sub: 'ann', sid: 'flaky', rooms: ['a'] };
    let calls = 0;
    const client = await pool.connect({
      headers: bearer(signToken({ ...claims, exp: Date.now() + LIFETIME_MS })),
      refresh: { initialDelay: 100, maxDelay: 200 },
      getToken: async () => {
        calls += 1;
        if (calls <= 2) throw new Error('auth server down');
        return signToken({ ...claims, exp: Date.now() + 60_000 });
      },
    });
    const errors: SssClientError[] = [];
    client.on('error', (error) => errors.push(error));
    await eventually(async () => {
      expect(((await client.ask('whoami')) as { expiresAt: number }).expiresAt).toBeGreaterThan(Date.now() + 30_000);
    }, LIFETIME_MS + 2_000);
    expect(calls).toBe(3);
    expect(errors.map((error) => error.code)).toEqual(['REFRESH_FAILED', 'REFRESH_FAILED']);
    expect((errors[0].cause as Error).message).toBe('auth server down');
    expect(client.status).toBe('open');
  });

  it('boots a revoked session on both instances and refuses its credential on reconnect and on refresh', async () => {
    const revokedSession = signToken({ sub: 'carol', sid: 'carol-laptop', exp: Date.now() + 60_000, rooms: [] });
    const onA = await pool.connect({ headers: bearer(revokedSession) }, a.url);
    const onB = await pool.connect({ headers: bearer(revokedSession) }, b.url);
    // Another session of the same user, whose refresh comes after the revocation.
    const laterRefresh = pool.create(
      {
        headers: bearer(signToken({ sub: 'carol', sid: 'carol-phone', exp: Date.now() + LIFETIME_MS, rooms: [] })),
        getToken: () => signToken({ sub: 'carol', sid: 'carol-phone', exp: Date.now() + LIFETIME_MS, rooms: [] }),
      },
      b.url,
    );
    const phoneExpired: Array<{ code: number; reason: string }> = [];
    laterRefresh.on('credentialsExpired', (event) => phoneExpired.push(event));
    await laterRefresh.connect();
    const boots: string[] = [];
    onA.on('boot', ({ reason }) => boots.push(`a:${reason}`));
    onB.on('boot', ({ reason }) => boots.push(`b:${reason}`));

    // The recipe: deny-list the session where every instance's guard looks, then boot it everywhere.
    const denyList = a.app.get(SessionDenyList);
    await denyList.revoke('carol-laptop');
    await denyList.revoke('carol-phone');
    await a.app.get(SssPublisher).bootSession('carol-laptop', 'Signed out');

    await eventually(() => expect(boots.sort()).toEqual(['a:Signed out', 'b:Signed out']));
    expect(onA.status).toBe('closed');
    expect(onB.status).toBe('closed');
    for (const url of [a.url, b.url]) {
      const again = pool.create({ headers: bearer(revokedSession), reconnect: false }, url);
      await expect(again.connect()).rejects.toMatchObject({ code: 'HANDSHAKE_REJECTED', status: 401 });
    }
    // The phone was not booted: its next refresh is refused by the deny list, and it is closed with 4004.
    await eventually(() => expect(phoneExpired).toHaveLength(1), LIFETIME_MS + 2_000);
    expect(phoneExpired[0]).toEqual({ code: 4004, reason: 'The refreshed credential was refused: Session revoked' });
  });

  describe('hostile auth frames', () => {
    it('answers malformed auth frames with errors and keeps serving', async () => {
      const raw = await RawSocket.open(b.url, bearer(token({ sid: 'parallel', exp: Date.now() + 60_000 })));
      try {
        raw.send({ t: 'auth', credential: 'x' });
        expect(await raw.next((f) => f.t === 'err' && f.id === undefined)).toMatchObject({ code: 'BAD_FRAME' });
        for (const [id, credential] of [
          [2, undefined],
          [3, ''],
          [4, 42],
          [5, { token: 'x' }],
          [6, ['x']],
          [7, 'x'.repeat(16_385)],
        ] as const) {
          expect(await raw.request({ t: 'auth', id, credential })).toMatchObject({
            t: 'err',
            id,
            code: 'BAD_FRAME',
            message: '"credential" must be a non-empty string of at most 16384 characters.',
          });
        }
        // Two at once: the second is told that one is running (the guard awaits Redis in between).
        const good = token({ sid: 'parallel', exp: Date.now() + 60_000 });
        raw.send({ t: 'auth', id: 8, credential: good });
        raw.send({ t: 'auth', id: 9, credential: good });
        expect(await raw.next((f) => f.id === 9)).toMatchObject({ t: 'err', code: 'BAD_REQUEST' });
        expect(await raw.next((f) => f.id === 8)).toEqual({ t: 'ack', id: 8 });
        expect(raw.closed).toBeUndefined();
        expect((await raw.request({ t: 'ask', id: 10, topic: 'whoami' })).t).toBe('res');
      } finally {
        raw.close();
      }
    });

    it('answers 500 when a session guard sets an expiry that is not a finite number, and INTERNAL_ERROR on a refresh', async () => {
      const notANumber = token({ exp: 'soon' as unknown as number });
      expect(await upgradeStatus(b.url, bearer(notANumber))).toEqual({ status: 500, body: 'Internal server error' });
      const raw = await RawSocket.open(b.url, bearer(token({ sid: 'bad-expiry', exp: Date.now() + 60_000 })));
      try {
        const refresh = token({ sid: 'bad-expiry', exp: 'soon' as unknown as number });
        expect(await raw.request({ t: 'auth', id: 1, credential: refresh })).toEqual({
          t: 'err',
          id: 1,
          code: 'INTERNAL_ERROR',
          message: 'Internal server error',
        });
        expect((await raw.request({ t: 'ask', id: 2, topic: 'whoami' })).t).toBe('res');
      } finally {
        raw.close();
      }
    });

    it('refuses auth on a connection that does not expire', async () => {
      const raw = await RawSocket.open(b.url, bearer(token({ exp: null })));
      try {
        expect(await raw.request({ t: 'auth', id: 1, credential: token() })).toMatchObject({
          t: 'err',
          id: 1,
          code: 'BAD_REQUEST',
          message: 'This connection does not expire: there is no credential to refresh.',
        });
      } finally {
        raw.close();
      }
    });

    it('closes with 4004 on a forged credential, and with 1009 on a credential larger than a frame may be', async () => {
      const forged = await RawSocket.open(b.url, bearer(token({ exp: Date.now() + 60_000 })));
      forged.send({ t: 'auth', id: 1, credential: 'forged.signature' });
      expect(await forged.waitClosed()).toEqual({
        code: 4004,
        reason: 'The refreshed credential was refused: Bad credential',
      });
      const huge = await RawSocket.open(b.url, bearer(token({ exp: Date.now() + 60_000 })));
      huge.send({ t: 'auth', id: 1, credential: 'x'.repeat(70_000) });
      expect((await huge.waitClosed()).code).toBe(1009);
    });

    it('rate-limits a flood of auth frames: the guard runs a bounded number of times and the socket is closed', async () => {
      const guard = b.app.get(TokenSessionGuard);
      const raw = await RawSocket.open(b.url, bearer(token({ sid: 'flooder', exp: Date.now() + 60_000 })));
      const runsBefore = guard.runs;
      const credential = token({ sid: 'flooder', exp: Date.now() + 60_000 });
      for (let id = 1; id <= 2_000; id += 1) raw.send({ t: 'auth', id, credential });
      expect((await raw.waitClosed(5_000)).code).toBe(1008);
      // At most one refresh runs at a time, within a budget of 100 frames per second.
      expect(guard.runs - runsBefore).toBeLessThanOrEqual(200);
      const other = await pool.connect({ headers: bearer(token({ exp: Date.now() + 60_000 })) }, b.url);
      expect(await other.ask('whoami')).toMatchObject({ userId: 'ann' });
    });
  });
});
