import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, sleep } from './support/clients.js';
import { RawSocket } from './support/raw-socket.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

describe('heartbeat', () => {
  let started: StartedApp;
  const pool = new ClientPool(() => started.url);

  beforeAll(async () => {
    started = await startFixtureApp({ heartbeatInterval: 500 });
  });

  afterAll(async () => {
    await pool.closeAll();
    await started.app.close();
  });

  it('announces the interval in hello and drops a socket that stays silent', async () => {
    const raw = await RawSocket.open(started.url);
    expect(raw.frames[0]).toMatchObject({ t: 'hello', heartbeat: 500 });
    // Silent for 2 × 500 ms, dropped at the server's next check (every 500 ms).
    const closed = await raw.waitClosed(3_000);
    expect(closed.code).toBe(1006);
  });

  it('keeps a client that pings alive well past the silence limit', async () => {
    const client = await pool.connect();
    const drops: unknown[] = [];
    client.on('drop', (event) => drops.push(event));
    // 2.5 times the silence limit: only its pings keep it.
    await sleep(2_500);
    expect(drops).toEqual([]);
    expect(client.status).toBe('open');
    expect(await client.ask('echo', 'alive')).toBe('alive');
  });
});
