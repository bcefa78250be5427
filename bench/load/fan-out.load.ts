import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { totalCpuMicros, totalUserMicros } from '../support/proc-stat.js';
import { percentile, SampleBuffer } from '../support/stats.js';
import { BenchConnection, forEachLimited, monotonicMicros, sleep } from './bench-connection.js';
import type { FanOutParams, FanOutResult } from './load-params.js';
import { isOurs, wireProtocols } from './wire-protocols.js';

/** Where one connection is in one channel. */
interface SubscriptionState {
  /** The payload counter expected next (publishes number each channel's messages from 1). */
  nextN: number;
  /** The last seq seen (ours only: the order the server promises). */
  seq: number;
}

// Our server drops sockets silent for twice its 25 s heartbeat; a real client pings when idle.
const KEEPALIVE_MS = 20_000;

export function channelName(index: number): string {
  return `bench/${index}`;
}

/**
 * Publishes at a fixed rate through the first instance to channels whose subscribers are spread
 * over every instance, and checks that every subscriber gets every message once and in order.
 * Channel `i` is subscribed by connections `(i·S + k) mod C`, `k < S`; connection `j` lives on
 * instance `j mod instances`. CPU is the sum over every instance, from the first measured publish
 * to the last delivery.
 */
export async function runFanOut(params: FanOutParams): Promise<FanOutResult> {
  const protocol = wireProtocols[params.target];
  const checkSeq = isOurs(params.target);
  const setupStart = performance.now();
  const connections: BenchConnection[] = new Array<BenchConnection>(params.connections);
  const states = Array.from({ length: params.connections }, () => new Map<string, SubscriptionState>());
  await forEachLimited([...connections.keys()], 32, async (index) => {
    connections[index] = await BenchConnection.open(protocol, params.origins[index % params.origins.length]);
  });
  const keepAlive = protocol.ping
    ? setInterval(
        () => connections.forEach((connection) => connection.isOpen && connection.send(protocol.ping!)),
        KEEPALIVE_MS,
      )
    : undefined;

  const subscriptions: Array<[connection: number, channel: number]> = [];
  for (let channel = 0; channel < params.channels; channel++) {
    for (let k = 0; k < params.subscribersPerChannel; k++) {
      subscriptions.push([(channel * params.subscribersPerChannel + k) % params.connections, channel]);
    }
  }
  let subscribed = 0;
  const subscribing = forEachLimited(subscriptions, 256, async ([index, channel]) => {
    const name = channelName(channel);
    const subbed = (await connections[index].request((id) => protocol.subscribe(id, name))) as { seq?: number };
    states[index].set(name, { nextN: 1, seq: subbed?.seq ?? 0 });
    subscribed++;
  });
  let deadline: NodeJS.Timeout | undefined;
  const setupTimedOut = new Promise<never>((_, reject) => {
    const left = Math.max(0, params.setupTimeoutMs - (performance.now() - setupStart));
    deadline = setTimeout(() => {
      const progress = `${subscribed} of ${subscriptions.length} subscribed`;
      reject(new Error(`setup took over ${params.setupTimeoutMs} ms (${progress})`));
    }, left);
  });
  try {
    await Promise.race([subscribing, setupTimedOut]);
  } catch (error) {
    clearInterval(keepAlive);
    for (const connection of connections) connection.terminate();
    throw error;
  } finally {
    clearTimeout(deadline);
  }

  let delivered = 0;
  let measuredDelivered = 0;
  let outOfOrder = 0;
  let measureStart = Number.POSITIVE_INFINITY;
  let measureEnd = Number.POSITIVE_INFINITY;
  let measuring = false;
  let arrivedInWindow = 0;
  const latencies = new SampleBuffer();
  connections.forEach((connection, index) => {
    const channels = states[index];
    connection.onChannelMessage = (message) => {
      const state = channels.get(message.channel);
      if (!state) return;
      const { n, ts } = message.data;
      if (n !== state.nextN) outOfOrder++;
      state.nextN = n + 1;
      if (checkSeq) {
        if (message.seq !== state.seq + 1) outOfOrder++;
        state.seq = message.seq;
      }
      delivered++;
      if (measuring) arrivedInWindow++;
      if (ts >= measureStart && ts < measureEnd) {
        measuredDelivered++;
        latencies.push(performance.now() - ts);
      }
    };
  });

  const publisher = await BenchConnection.open(protocol, params.origins[0]);
  const counters = new Uint32Array(params.channels);
  let published = 0;
  let publishErrors = 0;
  let measuredPublishes = 0;
  let ackedInTime = 0;
  const publishOne = () => {
    const channel = published % params.channels;
    published++;
    const sentAt = performance.now();
    const data = `{"n":${++counters[channel]},"ts":${sentAt}}`;
    const name = channelName(channel);
    const inWindow = measuring;
    if (inWindow) measuredPublishes++;
    publisher.call(
      (id) => protocol.publish(id, name, data),
      (reply) => {
        if (reply.error) publishErrors++;
        else if (inWindow && performance.now() - sentAt <= ACK_IN_TIME_MS) ackedInTime++;
      },
    );
  };
  const publishFor = async (ms: number) => {
    const start = performance.now();
    let sent = 0;
    for (let elapsed = 0; elapsed < ms; elapsed = performance.now() - start) {
      const due = Math.floor((elapsed * params.rate) / 1000) + 1;
      for (; sent < due; sent++) publishOne();
      await sleep(2);
    }
    return sent;
  };
  const drain = async () => {
    const deadline = performance.now() + params.drainTimeoutMs;
    while (delivered < published * params.subscribersPerChannel && performance.now() < deadline) await sleep(2);
  };
  const setupSeconds = (performance.now() - setupStart) / 1000;

  await publishFor(params.warmupMs);
  await drain();
  const cpuBefore = totalCpuMicros(params.serverPids, params.ticksPerSecond);
  const userBefore = totalUserMicros(params.serverPids, params.ticksPerSecond);
  measureStart = performance.now();
  const fromUs = monotonicMicros();
  measuring = true;
  const publishes = await publishFor(params.measureMs);
  measuring = false;
  const arrivalsPerSecond = arrivedInWindow / ((performance.now() - measureStart) / 1000);
  measureEnd = performance.now();
  await drain();
  // Answers still on their way count against the bound only once it has passed.
  for (const waitUntil = measureEnd + ACK_IN_TIME_MS; performance.now() < waitUntil && ackedInTime < measuredPublishes;)
    await sleep(20);
  const cpuMicros = totalCpuMicros(params.serverPids, params.ticksPerSecond) - cpuBefore;
  const userMicros = totalUserMicros(params.serverPids, params.ticksPerSecond) - userBefore;
  const toUs = monotonicMicros();
  const seconds = (performance.now() - measureStart) / 1000;

  clearInterval(keepAlive);
  publisher.terminate();
  for (const connection of connections) connection.terminate();
  const samples = latencies.view();
  return {
    window: { fromUs, toUs },
    setupSeconds,
    publishes,
    deliveries: measuredDelivered,
    expectedDeliveries: publishes * params.subscribersPerChannel,
    seconds,
    cpuMicros,
    userMicros,
    latencyP50Ms: percentile(samples, 50),
    latencyP99Ms: percentile(samples, 99),
    totalExpected: published * params.subscribersPerChannel,
    totalDelivered: delivered,
    outOfOrder,
    publishErrors,
    arrivalsPerSecond,
    ackedInTimePercent: (100 * ackedInTime) / Math.max(1, measuredPublishes),
    serverPeakRssMB: Math.max(...params.serverPids.map(peakRssMB)),
  };
}

/** A publish is acknowledged in time when its answer arrives within this (ms). */
const ACK_IN_TIME_MS = 10_000;

/** The most resident memory a process has had (VmHWM), MB. */
function peakRssMB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}
