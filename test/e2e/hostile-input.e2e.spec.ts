import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { ErrorCode, MAX_FRAME_DEPTH } from '../../lib/index.js';
import { nestedObject } from './fixtures/hostile.gateway.js';
import { RawSocket } from './support/raw-socket.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

/** `[[[...]]]` as text, `depth` brackets deep. */
const nestedArrayText = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('hostile input and unencodable results: a client error, never a crash', () => {
  let started: StartedApp;
  let raw: RawSocket;
  const escaped: unknown[] = [];
  const recordEscape = (error: unknown) => escaped.push(error);
  let errorLog: MockInstance<Logger['error']>;

  beforeEach(async () => {
    // A fresh socket per case, so that one case that breaks its socket does not hide the others.
    raw?.close();
    raw = await RawSocket.open(started.url);
  });

  beforeAll(async () => {
    // Anything that escapes a listener or a promise chain lands here (and would kill a real process).
    process.on('uncaughtException', recordEscape);
    process.on('unhandledRejection', recordEscape);
    errorLog = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    started = await startFixtureApp({ limits: { maxFrameBytes: 1 << 20, messagesPerSecond: 10_000 } });
  });

  afterAll(async () => {
    raw.close();
    await started.app.close();
    errorLog.mockRestore();
    process.off('uncaughtException', recordEscape);
    process.off('unhandledRejection', recordEscape);
  });

  it('refuses a 5,000-level "t" with BAD_FRAME naming the depth limit, and keeps the socket', async () => {
    raw.send(`{"t":${nestedArrayText(5_000)}}`);
    const error = await raw.next((f) => f.t === 'err');
    expect(error).toMatchObject({ code: ErrorCode.BadFrame });
    expect(error.message).toContain(String(MAX_FRAME_DEPTH));
    expect(await raw.request({ t: 'ask', id: 1, topic: 'echo', data: 'alive' })).toMatchObject({ data: 'alive' });
  });

  it('refuses deep nesting in every field of ask, tell and sub with BAD_FRAME and the id', async () => {
    // Built as text: this process's own JSON.stringify would overflow its stack on such a value.
    const deep = nestedArrayText(5_000);
    for (const [id, frame] of [
      [2, `{"t":"ask","id":2,"topic":"hostile.echo","data":${deep}}`],
      [3, `{"t":"tell","id":3,"topic":"hostile.validated","data":${deep}}`],
      [4, `{"t":"sub","id":4,"channel":"news","query":${deep}}`],
      [5, `{"t":"ask","id":5,"topic":${deep}}`],
      [6, `{"t":"sub","id":6,"channel":"news","since":${deep}}`],
    ] as const) {
      raw.send(frame);
      expect(await raw.next((f) => f.id === id)).toMatchObject({ t: 'err', code: ErrorCode.BadFrame });
    }
  });

  it('accepts nesting up to the limit, and brackets inside strings do not count', async () => {
    const atLimit = nestedObject(MAX_FRAME_DEPTH - 1);
    expect(await raw.request({ t: 'ask', id: 16, topic: 'hostile.echo', data: atLimit })).toMatchObject({
      t: 'res',
      data: atLimit,
    });
    const brackets = '[{'.repeat(10_000);
    expect(await raw.request({ t: 'ask', id: 7, topic: 'hostile.echo', data: brackets })).toMatchObject({
      t: 'res',
      data: brackets,
    });
  });

  it('answers a deep tell payload with a client error, not INTERNAL_ERROR', async () => {
    const deep = nestedObject(MAX_FRAME_DEPTH + 1);
    const answer = await raw.request({ t: 'tell', id: 8, topic: 'hostile.validated', data: deep });
    expect(answer.code).toBe(ErrorCode.BadFrame);
  });

  it('describes an unknown type in a bounded message, whatever the client sent', async () => {
    raw.send({ t: 'x'.repeat(100_000), id: 9 });
    const error = await raw.next((f) => f.id === 9);
    expect(error.code).toBe(ErrorCode.UnknownType);
    expect((error.message as string).length).toBeLessThan(200);
    expect(await raw.request({ t: { nested: [1, 2, 3] }, id: 10 })).toMatchObject({ code: ErrorCode.UnknownType });
  });

  it.each(['hostile.bigint', 'hostile.circular', 'hostile.deep', 'hostile.toJSON'])(
    'answers INTERNAL_ERROR when %s returns what JSON cannot encode, logged once per topic',
    async (topic) => {
      const logged = () => errorLog.mock.calls.filter((call) => String(call[0]).includes(topic)).length;
      expect(await raw.request({ t: 'ask', id: 11, topic })).toMatchObject({
        code: ErrorCode.Internal,
        message: 'Internal server error',
      });
      expect(await raw.request({ t: 'ask', id: 12, topic })).toMatchObject({ code: ErrorCode.Internal });
      expect(logged()).toBe(1);
    },
  );

  it('refuses a subscription whose handler returns what JSON cannot encode', async () => {
    expect(await raw.request({ t: 'sub', id: 13, channel: 'hostile/bigint' })).toMatchObject({
      code: ErrorCode.Internal,
    });
  });

  it('let nothing escape as an uncaught exception or an unhandled rejection', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await raw.request({ t: 'ask', id: 14, topic: 'echo', data: 'still alive' })).toMatchObject({
      data: 'still alive',
    });
    expect(escaped).toEqual([]);
  });
});
