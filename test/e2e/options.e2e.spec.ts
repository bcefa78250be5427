import { afterEach, describe, expect, it } from 'vitest';
import { ClientPool } from './support/clients.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

describe('module options on a running server', () => {
  let started: StartedApp | undefined;
  const pool = new ClientPool(() => started!.url);

  afterEach(async () => {
    await pool.closeAll();
    await started?.app.close();
    started = undefined;
  });

  it('takes undefined limits (an unset environment variable) as their defaults', async () => {
    started = await startFixtureApp({
      limits: { handlerTimeout: undefined, messagesPerSecond: undefined, maxFrameBytes: undefined },
      retention: { maxMessages: undefined },
    });
    const client = await pool.connect();
    // Before, handlerTimeout: undefined timed every handler out at once.
    expect(await client.ask('promise', 21)).toBe(42);
    // Before, messagesPerSecond: undefined made the token bucket NaN: no rate limit at all.
    const answers = await Promise.allSettled(Array.from({ length: 300 }, (_, n) => client.ask('echo', n)));
    expect(answers.filter((answer) => answer.status === 'rejected').length).toBeGreaterThan(0);
  });

  it('switches the rate limit off with messagesPerSecond: 0', async () => {
    started = await startFixtureApp({ limits: { messagesPerSecond: 0 } });
    const client = await pool.connect();
    const answers = await Promise.all(Array.from({ length: 500 }, (_, n) => client.ask('echo', n)));
    expect(answers).toEqual(Array.from({ length: 500 }, (_, n) => n));
  });
});
