import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { processCpuMicros } from '../support/proc-stat.js';
import { BenchConnection, sleep } from './bench-connection.js';
import { channelName } from './fan-out.load.js';
import { OUR_MESSAGES_COLLECTION, type RecoveryParams, type RecoverySample } from './load-params.js';
import { wireProtocols } from './wire-protocols.js';

const protocol = wireProtocols.sss;

/**
 * A client follows a channel on the first instance, goes away, misses `missed` messages, and
 * reconnects to the second instance with `since`: how long until it has them all, in order.
 */
export async function runRecovery(params: RecoveryParams): Promise<RecoverySample[]> {
  const [firstOrigin, secondOrigin] = params.origins;
  const recoveringPid = params.serverPids[1];
  const name = channelName(0);
  const publisher = await BenchConnection.open(protocol, firstOrigin);
  // Keeps the recovering instance on the channel, so that it has the missed messages in memory.
  const watcher = params.source === 'memory' ? await BenchConnection.open(protocol, secondOrigin) : undefined;
  await watcher?.request((id) => protocol.subscribe(id, name));
  const store = params.mongoUrl ? await new mongoose.mongo.MongoClient(params.mongoUrl).connect() : undefined;
  const samples: RecoverySample[] = [];
  for (let sample = 0; sample < params.samples; sample++) {
    // Follow the channel until one live message arrived, then leave: that is the position to recover from.
    const follower = await BenchConnection.open(protocol, firstOrigin);
    const subbed = (await follower.request((id) => protocol.subscribe(id, name))) as { epoch: string; seq: number };
    const live = new Promise<number>((resolve) => (follower.onChannelMessage = (message) => resolve(message.seq)));
    await publisher.request((id) => protocol.publish(id, name, '{"n":0,"ts":0}'));
    const since = { epoch: subbed.epoch, seq: await live };
    await follower.close();
    await publisher.request((id) => protocol.ask(id, 'burst', JSON.stringify({ channel: name, count: params.missed })));

    const cpuBefore = processCpuMicros(recoveringPid, params.ticksPerSecond);
    const connectAt = performance.now();
    const returning = await BenchConnection.open(protocol, secondOrigin);
    let received = 0;
    let inOrder = true;
    let lastSeq = since.seq;
    const all = new Promise<void>((resolve) => {
      returning.onChannelMessage = (message) => {
        if (message.seq !== lastSeq + 1) inOrder = false;
        lastSeq = message.seq;
        if (++received === params.missed) resolve();
      };
    });
    const subscribeAt = performance.now();
    const reply = (await returning.request((id) => protocol.subscribe(id, name, JSON.stringify(since)))) as {
      recovered?: boolean;
    };
    await Promise.race([all, sleep(30_000)]);
    const doneAt = performance.now();
    const cpuMicros = processCpuMicros(recoveringPid, params.ticksPerSecond) - cpuBefore;
    await returning.close();
    samples.push({
      connectToAllMs: doneAt - connectAt,
      subscribeToAllMs: doneAt - subscribeAt,
      cpuMicros,
      received,
      recovered: reply.recovered === true,
      inOrder,
      driverRead: store && (await readRange(store, name, since.seq, since.seq + params.missed)),
    });
  }
  publisher.terminate();
  watcher?.terminate();
  await store?.close();
  return samples;
}

/** Times one driver read of `after < seq <= upTo`, as a bare app would read its history. */
async function readRange(
  client: mongoose.mongo.MongoClient,
  channel: string,
  after: number,
  upTo: number,
): Promise<{ ms: number; documents: number }> {
  const startedAt = performance.now();
  const documents = await client
    .db()
    .collection(OUR_MESSAGES_COLLECTION)
    .find({ c: channel, s: { $gt: after, $lte: upTo } })
    .sort({ s: 1 })
    .toArray();
  return { ms: performance.now() - startedAt, documents: documents.length };
}
