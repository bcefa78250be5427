import { Catch, type ExceptionFilter, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SssClientError, type SssClient } from '../../lib/client/index.js';
import { ErrorCode } from '../../lib/index.js';
import { FixtureAppModule } from './fixtures/app.module.js';
import { EventLog } from './fixtures/event-log.service.js';
import { ClientPool, eventually } from './support/clients.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

/** What finding 10 was about: an app-wide filter that answers every error with a value. */
@Catch()
class GrantEverythingFilter implements ExceptionFilter {
  catch(): unknown {
    return { granted: true };
  }
}

async function rejection(promise: Promise<unknown>): Promise<SssClientError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SssClientError);
  return error as SssClientError;
}

describe("Nest's enhancer pipeline on @OnAsk, @OnTell and @Channel", () => {
  let started: StartedApp;
  const pool = new ClientPool(() => started.url);
  let client: SssClient;

  beforeAll(async () => {
    started = await startFixtureApp({ limits: { handlerTimeout: 500 } });
    client = await pool.connect();
  });

  afterAll(async () => {
    await pool.closeAll();
    await started.app.close();
  });

  describe('ask', () => {
    it('returns a value, a Promise or an Observable', async () => {
      expect(Math.abs((await client.ask<number>('serverTime')) - Date.now())).toBeLessThan(5_000);
      expect(await client.ask('promise', 21)).toBe(42);
      expect(await client.ask('observable')).toBe(3);
      expect(await client.ask('echo', { nested: [1, 'two'] })).toEqual({ nested: [1, 'two'] });
      expect(await client.ask('echoProperty', { text: 'picked' })).toBe('picked');
    });

    it('turns WsException, HttpException and SssError into stable codes', async () => {
      expect(await rejection(client.ask('wsError', 'string'))).toMatchObject({
        code: ErrorCode.WsError,
        message: 'Plain ws error',
      });
      expect(await rejection(client.ask('wsError', 'object'))).toMatchObject({
        code: 'ROOM_FULL',
        message: 'The room is full',
      });
      expect(await rejection(client.ask('httpError'))).toMatchObject({
        code: ErrorCode.NotFound,
        message: 'No such thing',
      });
      expect(await rejection(client.ask('sssError'))).toMatchObject({ code: 'QUOTA', details: { limit: 3 } });
    });

    it('never leaks the message or stack of an unexpected error', async () => {
      const error = await rejection(client.ask('crash'));
      expect(error.code).toBe(ErrorCode.Internal);
      expect(JSON.stringify({ ...error, message: error.message })).not.toMatch(/hunter2|at .*\.ts/);
    });

    it('runs guards, interceptors and filters', async () => {
      expect(await rejection(client.ask('guarded'))).toMatchObject({ code: ErrorCode.Forbidden });
      expect(await client.ask('intercepted', 7)).toEqual({ wrapped: 7, type: 'sss', pattern: 'intercepted' });
    });

    it('keeps a failure a failure whatever a filter returns', async () => {
      expect(await rejection(client.ask('filtered'))).toMatchObject({
        code: ErrorCode.WsError,
        message: 'refused, whatever the filter returns',
      });
      expect(started.app.get(EventLog).events).toContain('rescue:sss:refused, whatever the filter returns');
    });

    it('lets a filter extending BaseSssExceptionFilter choose the error by throwing it', async () => {
      expect(await rejection(client.ask('renamed', 'rename me'))).toMatchObject({
        code: 'RENAMED',
        message: 'renamed in a sss filter',
      });
      const hidden = await rejection(client.ask('renamed', 'database password is hunter2'));
      expect(hidden).toMatchObject({ code: ErrorCode.Internal, message: 'Internal server error' });
    });

    it('resolves custom and built-in param decorators', async () => {
      const whoami = await client.ask<Record<string, unknown>>('whoami');
      expect(whoami).toEqual({ socketId: client.socketId, sameSocket: true });
    });

    it('times out a slow handler with TIMEOUT', async () => {
      expect(await rejection(client.ask('slow'))).toMatchObject({ code: ErrorCode.Timeout });
    });

    it('reports an unknown topic', async () => {
      expect(await rejection(client.ask('nothing-here'))).toMatchObject({ code: ErrorCode.UnknownTopic });
    });
  });

  describe('tell', () => {
    it('resolves once a ValidationPipe-checked handler accepted it', async () => {
      await client.tell('like', { messageId: 5 });
      expect(started.app.get(EventLog).likes).toContainEqual({ messageId: 5 });
    });

    it('rejects invalid payloads with BAD_REQUEST and the validation messages', async () => {
      const error = await rejection(client.tell('like', { messageId: 'five', extra: true }));
      expect(error.code).toBe(ErrorCode.BadRequest);
      expect(error.details).toEqual(
        expect.arrayContaining(['property extra should not exist', 'messageId must not be less than 1']),
      );
    });

    it('runs guards, interceptors and filters', async () => {
      expect(await rejection(client.tell('guardedTell'))).toMatchObject({ code: ErrorCode.Forbidden });
      expect(started.app.get(EventLog).events).not.toContain('guardedTell ran');
      await client.tell('interceptedTell');
      expect(await rejection(client.tell('filteredTell'))).toMatchObject({
        code: ErrorCode.WsError,
        message: 'tell refused',
      });
      expect(started.app.get(EventLog).events).toContain('rescue:sss:tell refused');
    });
  });

  describe('channel', () => {
    it('uses guards as the subscription parser, with params and query', async () => {
      expect(await rejection(client.subscribe('room/secret', { password: 'wrong' }))).toMatchObject({
        code: ErrorCode.Forbidden,
      });
      const secret = await client.subscribe('room/secret', { password: 'opensesame' });
      expect(secret.data).toEqual({ room: 'secret', channel: 'room/secret' });
      expect(await rejection(client.subscribe('denied'))).toMatchObject({ code: ErrorCode.Forbidden });
    });

    it('validates the query with ValidationPipe', async () => {
      expect(await rejection(client.subscribe('validated/1', { password: 42 }))).toMatchObject({
        code: ErrorCode.BadRequest,
        details: ['password must be a string'],
      });
      const ok = await client.subscribe('validated/1', { password: 'x' });
      expect(ok.data).toEqual({ password: 'x', params: { id: '1' } });
    });

    it('runs interceptors and filters, and refuses on exceptions', async () => {
      expect((await client.subscribe('interceptedChannel')).data).toEqual({
        wrapped: 'joined',
        type: 'sss',
        pattern: 'interceptedChannel',
      });
      expect(await rejection(client.subscribe('throwingChannel'))).toMatchObject({ code: 'CLOSED_ROOM' });
      expect(await client.ask('subscriptions', 'throwingChannel')).toMatchObject({ isSubscribed: false });
    });

    it('refuses a subscription whatever a filter returns', async () => {
      expect(await rejection(client.subscribe('filteredChannel'))).toMatchObject({ code: 'CLOSED_ROOM' });
      expect(await client.ask('subscriptions', 'filteredChannel')).toMatchObject({ isSubscribed: false });
      expect(await rejection(client.subscribe('deniedAndFiltered'))).toMatchObject({ code: ErrorCode.Forbidden });
      expect(await client.ask('subscriptions', 'deniedAndFiltered')).toMatchObject({ isSubscribed: false });
      expect(started.app.get(EventLog).events).toContain('rescue:sss:Forbidden resource');
    });

    it('reports channels without a @Channel pattern', async () => {
      expect(await rejection(client.subscribe('nowhere'))).toMatchObject({ code: ErrorCode.UnknownChannel });
    });
  });

  it('injected the gateway constructor dependencies under the test transform', async () => {
    await eventually(() => expect(started.app.get(EventLog).events).toContain('connect:anonymous'));
  });
});

describe('a global catch-all exception filter that returns a value', () => {
  let app: INestApplication;
  const pool = new ClientPool(() => url);
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FixtureAppModule.register()] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    app.useGlobalFilters(new GrantEverythingFilter());
    await app.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/sss`;
  });

  afterAll(async () => {
    await pool.closeAll();
    await app.close();
  });

  it("leaves a @Channel guard's refusal a refusal", async () => {
    const client = await pool.connect();
    expect(await rejection(client.subscribe('denied'))).toMatchObject({ code: ErrorCode.Forbidden });
    expect(await rejection(client.subscribe('room/secret', { password: 'wrong' }))).toMatchObject({
      code: ErrorCode.Forbidden,
    });
    expect(await client.ask('subscriptions', 'denied')).toMatchObject({ isSubscribed: false });
    expect(await rejection(client.ask('guarded'))).toMatchObject({ code: ErrorCode.Forbidden });
    expect(await rejection(client.ask('crash'))).toMatchObject({ code: ErrorCode.Internal });
  });
});
