import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/index.js';
import { clientFrame, Opcode, openRawWire, serverCloseCode, serverTextFrames } from '../support/raw-wire.js';
import { RawSocket } from './support/raw-socket.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

describe('bad input gets a documented answer and disturbs nobody', () => {
  let started: StartedApp;
  let raw: RawSocket;
  let bystander: RawSocket;

  beforeAll(async () => {
    started = await startFixtureApp({
      limits: { maxFrameBytes: 1024, maxSubscriptionsPerSocket: 2, messagesPerSecond: 1000, handlerTimeout: 300 },
    });
    raw = await RawSocket.open(started.url);
    bystander = await RawSocket.open(started.url);
  });

  afterAll(async () => {
    raw.close();
    bystander.close();
    await started.app.close();
  });

  it('answers malformed JSON with BAD_FRAME and keeps the socket', async () => {
    raw.send('{"t":"ask",');
    const error = await raw.next((f) => f.t === 'err' && f.code === ErrorCode.BadFrame && f.id === undefined);
    expect(error.message).toMatch(/not valid JSON/);
    expect(await raw.request({ t: 'ask', id: 1, topic: 'echo', data: 'still here' })).toMatchObject({
      t: 'res',
      data: 'still here',
    });
  });

  it('answers a frame that is not an object', async () => {
    raw.frames.length = 0;
    raw.send('[1,2,3]');
    expect(await raw.next((f) => f.t === 'err')).toMatchObject({
      code: ErrorCode.BadFrame,
      message: expect.stringMatching(/object/),
    });
  });

  it('answers binary frames', async () => {
    raw.frames.length = 0;
    raw.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await raw.next((f) => f.t === 'err')).toMatchObject({
      code: ErrorCode.BadFrame,
      message: expect.stringMatching(/Binary/),
    });
  });

  it('answers unknown frame types, with the id when there is one', async () => {
    expect(await raw.request({ t: 'launch', id: 2 })).toMatchObject({ t: 'err', code: ErrorCode.UnknownType });
  });

  it('answers a request without a valid id', async () => {
    raw.frames.length = 0;
    raw.send({ t: 'ask', topic: 'echo' });
    expect(await raw.next((f) => f.t === 'err')).toMatchObject({
      code: ErrorCode.BadFrame,
      message: expect.stringMatching(/id/),
    });
    raw.frames.length = 0;
    raw.send({ t: 'ask', id: -4, topic: 'echo' });
    expect(await raw.next((f) => f.t === 'err')).toMatchObject({ code: ErrorCode.BadFrame });
  });

  it('answers unknown and missing topics', async () => {
    expect(await raw.request({ t: 'ask', id: 3, topic: 'nope' })).toMatchObject({ code: ErrorCode.UnknownTopic });
    expect(await raw.request({ t: 'tell', id: 4, topic: 'nope' })).toMatchObject({ code: ErrorCode.UnknownTopic });
    expect(await raw.request({ t: 'ask', id: 5 })).toMatchObject({ code: ErrorCode.BadFrame });
    expect(await raw.request({ t: 'ask', id: 6, topic: 'x'.repeat(500) })).toMatchObject({ code: ErrorCode.BadFrame });
  });

  it('answers invalid and unknown channels', async () => {
    for (const [id, channel] of [
      [7, ''],
      [8, '$user/ann'],
      [9, 'bad\u0001name'],
      [10, 42],
      [11, 'x'.repeat(300)],
    ] as const) {
      expect(await raw.request({ t: 'sub', id, channel })).toMatchObject({ code: ErrorCode.InvalidChannel });
    }
    expect(await raw.request({ t: 'sub', id: 12, channel: 'unknown/channel' })).toMatchObject({
      code: ErrorCode.UnknownChannel,
    });
    // Matching is exact: another case or a trailing slash does not reach the private room's guard.
    expect(await raw.request({ t: 'sub', id: 121, channel: 'ROOM/secret' })).toMatchObject({
      code: ErrorCode.UnknownChannel,
    });
    expect(await raw.request({ t: 'sub', id: 122, channel: 'room/secret/' })).toMatchObject({
      code: ErrorCode.UnknownChannel,
    });
    expect(await raw.request({ t: 'sub', id: 123, channel: 'News' })).toMatchObject({
      code: ErrorCode.UnknownChannel,
    });
    expect(await raw.request({ t: 'sub', id: 13, channel: 'news', since: { epoch: 1 } })).toMatchObject({
      code: ErrorCode.BadFrame,
    });
  });

  it('refuses a second subscription to the same channel and unsubscribing from a channel not held', async () => {
    expect(await raw.request({ t: 'sub', id: 14, channel: 'news' })).toMatchObject({ t: 'subbed' });
    expect(await raw.request({ t: 'sub', id: 15, channel: 'news' })).toMatchObject({
      code: ErrorCode.AlreadySubscribed,
    });
    expect(await raw.request({ t: 'unsub', id: 16, channel: 'room/nothing' })).toMatchObject({
      code: ErrorCode.NotSubscribed,
    });
  });

  it('enforces the subscription limit per socket', async () => {
    expect(await raw.request({ t: 'sub', id: 17, channel: 'room/a' })).toMatchObject({ t: 'subbed' });
    expect(await raw.request({ t: 'sub', id: 18, channel: 'room/b' })).toMatchObject({
      code: ErrorCode.TooManySubscriptions,
    });
    expect(await raw.request({ t: 'unsub', id: 19, channel: 'room/a' })).toMatchObject({ t: 'ack' });
    expect(await raw.request({ t: 'sub', id: 20, channel: 'room/b' })).toMatchObject({ t: 'subbed' });
  });

  it('times out a handler that takes too long', async () => {
    expect(await raw.request({ t: 'ask', id: 21, topic: 'slow' })).toMatchObject({ code: ErrorCode.Timeout });
  });

  it('closes with 1009 on an oversized frame, and other clients carry on', async () => {
    const victim = await RawSocket.open(started.url);
    victim.send({ t: 'ask', id: 1, topic: 'echo', data: 'x'.repeat(5_000) });
    expect((await victim.waitClosed()).code).toBe(1009);
    expect(await bystander.request({ t: 'ask', id: 1, topic: 'echo', data: 'fine' })).toMatchObject({
      t: 'res',
      data: 'fine',
    });
  });

  it('answers ping with pong', async () => {
    bystander.send({ t: 'ping' });
    await bystander.next((f) => f.t === 'pong');
  });
});

describe('rate limit', () => {
  it('answers RATE_LIMITED beyond the rate, stops reading until the budget refills, then recovers', async () => {
    const started = await startFixtureApp({ limits: { messagesPerSecond: 5 } });
    const raw = await RawSocket.open(started.url);
    try {
      // A bucket of 10, then 10 frames of debt: answered RATE_LIMITED, the socket stays open.
      for (let id = 1; id <= 20; id++) raw.send({ t: 'ask', id, topic: 'echo', data: id });
      const limited = await raw.next((f) => f.code === ErrorCode.RateLimited);
      // The bucket refills (5 per second) while the frames arrive: one more may pass.
      expect(limited.id).toBeGreaterThanOrEqual(11);
      await raw.next((f) => f.id === 20);
      expect(raw.frames.filter((f) => f.t === 'res').length).toBeLessThanOrEqual(11);
      // Paused until the debt is paid: (10 + 1) / 5 s.
      const sentAt = Date.now();
      expect(await raw.request({ t: 'ask', id: 99, topic: 'echo', data: 'again' })).toMatchObject({ t: 'res' });
      expect(Date.now() - sentAt).toBeGreaterThan(1_500);
      expect(raw.closed).toBeUndefined();
    } finally {
      raw.close();
      await started.app.close();
    }
  });

  it('counts pings and unreadable frames, and closes with 1008 a socket that keeps sending over budget', async () => {
    const started = await startFixtureApp({ limits: { messagesPerSecond: 5 } });
    const wire = await openRawWire(started.url);
    try {
      const frames = [
        ...Array.from({ length: 10 }, () => '{"t":"ping"}'),
        ...Array.from({ length: 5 }, () => '{"t":'),
        '{"t":"ask","id":1,"topic":"echo"}',
        ...Array.from({ length: 20 }, () => '{"t":"ping"}'),
      ];
      // One write, so that the server reads it all at once, as it would read a flood.
      wire.socket.write(Buffer.concat(frames.map((text) => clientFrame(Opcode.Text, text))));
      await new Promise((resolve) => wire.socket.once('close', resolve));
      const bytes = Buffer.concat(wire.received);
      const answers = serverTextFrames(bytes).map((text) => JSON.parse(text) as Record<string, unknown>);
      // The pings took the bucket of 10; the unreadable frames came over budget and were dropped
      // unanswered; the ask was told; the socket went on sending into a full debt and was closed.
      expect(answers.slice(1)).toEqual([
        ...Array.from({ length: 10 }, () => ({ t: 'pong' })),
        { t: 'err', id: 1, code: ErrorCode.RateLimited, message: 'More than 5 frames per second; slow down.' },
      ]);
      expect(serverCloseCode(bytes)).toBe(1008);
    } finally {
      wire.socket.destroy();
      await started.app.close();
    }
  });
});
