import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { SssClient } from '../../../lib/client/index.js';
import { ScriptedServer } from './scripted-ws-server.helper.js';

/** Tracks the timers created while it is enabled and not yet fired or cleared. */
function trackTimers(): { live: Set<number>; stop: () => void } {
  const live = new Set<number>();
  const hook = createHook({
    init: (id, type) => {
      if (type === 'Timeout') live.add(id);
    },
    destroy: (id) => {
      live.delete(id);
    },
  }).enable();
  return { live, stop: () => hook.disable() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SssClient close()', () => {
  it('leaves no timers or sockets behind after a reconnect, heartbeats and a pending request', async () => {
    const server = await ScriptedServer.start({ heartbeat: 50 });
    const timers = trackTimers();
    try {
      const client = new SssClient(server.url, {
        askTimeout: 60_000,
        reconnect: { initialDelay: 10, maxDelay: 50, factor: 2 },
      });
      await client.connect();
      const first = await server.connection(0);
      const subscribing = client.subscribe('room/1');
      const sub = await first.next('sub');
      first.send({ t: 'subbed', id: sub.id, channel: 'room/1', epoch: 'e1', seq: 0 });
      await subscribing;
      first.socket.terminate();
      const second = await server.connection(1);
      const resub = await second.next('sub');
      second.send({ t: 'subbed', id: resub.id, channel: 'room/1', epoch: 'e1', seq: 0, recovered: true });
      await second.next('ping');
      const pending = client.ask('never answered').catch((error: unknown) => error);
      await second.next('ask');
      expect(timers.live.size).toBeGreaterThan(0);

      await client.close();
      await expect(pending).resolves.toMatchObject({ code: 'CLOSED' });
      await tick();
      expect(timers.live.size).toBe(0);
    } finally {
      timers.stop();
      await server.close();
    }
    // The server's listening handle closes asynchronously; the client's sockets are already gone.
    for (
      let attempt = 0;
      attempt < 100 && process.getActiveResourcesInfo().some((kind) => kind.startsWith('TCP'));
      attempt += 1
    ) {
      await tick();
    }
    expect(process.getActiveResourcesInfo().filter((kind) => kind.startsWith('TCP'))).toEqual([]);
  });
});
