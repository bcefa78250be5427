import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SssReconnectEvent } from '../../lib/client/index.js';
import { SssPublisher } from '../../lib/index.js';
import { SocketRegistry } from '../../lib/server/socket.registry.js';
import { PausableProxy } from '../support/pausable-proxy.js';
import { ClientPool, eventually } from './support/clients.js';
import { startFixtureApp, type StartedApp } from './support/start-app.js';

// A chat message of about 650 bytes on the wire, as in the report that found the problem.
const TEXT = 'x'.repeat(560);

describe('a slow consumer dropped with the default limits recovers with the default retention', () => {
  let started: StartedApp;
  let proxy: PausableProxy;
  const clients = new ClientPool(() => `ws://127.0.0.1:${proxy.port}/sss`);

  beforeAll(async () => {
    // Defaults only: the point is that the default send buffer and the default retention fit.
    started = await startFixtureApp();
    proxy = await PausableProxy.start(started.port);
  });

  afterAll(async () => {
    await clients.closeAll();
    await proxy.stop();
    await started.app.close();
  });

  it('is dropped when its send buffer fills, and gets every missed message back (recovered: true)', async () => {
    const client = await clients.connect();
    const subscription = await client.subscribe('news');
    const seqs: number[] = [];
    subscription.on('said', (_data, meta) => seqs.push(meta.seq));
    const reconnects: SssReconnectEvent[] = [];
    client.on('reconnect', (event) => reconnects.push(event));
    const publisher = started.app.get(SssPublisher);
    const sockets = started.app.get(SocketRegistry, { strict: false });

    proxy.pause();
    let published = 0;
    // Publish until the server drops the consumer (bounded, in case it never does).
    while (sockets.size > 0 && published < 50_000) {
      await publisher.publish('news', 'said', { text: TEXT, n: published });
      published++;
      // Let delivery and I/O run, as they would between the messages of a real chat.
      if (published % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(sockets.size).toBe(0);
    proxy.resume();

    await eventually(() => expect(reconnects).toHaveLength(1), 15_000);
    expect(reconnects[0]).toEqual({ recovered: true, subscriptions: [{ channel: 'news', recovered: true }] });
    await eventually(() => expect(seqs).toHaveLength(published), 10_000);
    expect(seqs).toEqual(Array.from({ length: published }, (_, index) => index + 1));
    console.log(`dropped after ${published} messages of ~650 B; every one delivered, in order`);
  }, 60_000);
});
