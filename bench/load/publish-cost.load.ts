import { performance } from 'node:perf_hooks';
import { totalCpuMicros } from '../support/proc-stat.js';
import { percentile, SampleBuffer } from '../support/stats.js';
import { BenchConnection, sleep } from './bench-connection.js';
import type { PublishCostParams, PublishCostResult } from './load-params.js';
import { wireProtocols } from './wire-protocols.js';

/**
 * What one stored publish costs the instance that takes it: publishes at `rate` per second, one
 * at a time (open loop, no batching to hide behind), to channels nobody subscribes to, and the
 * server's CPU over the measured window divided by the publishes it acknowledged.
 */
export async function runPublishCost(params: PublishCostParams): Promise<PublishCostResult> {
  const protocol = wireProtocols[params.target];
  const publisher = await BenchConnection.open(protocol, params.origin);
  const latencies = new SampleBuffer();
  let acknowledged = 0;
  let errors = 0;
  let measuring = false;
  let sent = 0;
  const publishOne = () => {
    const sentAt = performance.now();
    const channel = `bench/p${sent++ % 10}`;
    publisher.call(
      (id) => protocol.publish(id, channel, `{"text":"a chat line of a modest size","n":${sent}}`),
      (reply) => {
        if (!measuring) return;
        if (reply.error) errors++;
        else acknowledged++;
        latencies.push(performance.now() - sentAt);
      },
    );
  };
  const publishFor = async (ms: number) => {
    const start = performance.now();
    let due = 0;
    for (let elapsed = 0; elapsed < ms; elapsed = performance.now() - start) {
      for (const target = Math.floor((elapsed * params.rate) / 1000) + 1; due < target; due++) publishOne();
      await sleep(2);
    }
  };
  await publishFor(params.warmupMs);
  await sleep(200);
  const cpuBefore = totalCpuMicros(params.serverPids, params.ticksPerSecond);
  measuring = true;
  await publishFor(params.measureMs);
  // The last answers of the window.
  await sleep(300);
  measuring = false;
  const cpuMicros = totalCpuMicros(params.serverPids, params.ticksPerSecond) - cpuBefore;
  publisher.terminate();
  const samples = latencies.view();
  return {
    publishes: acknowledged,
    errors,
    cpuMicros,
    latencyP50Ms: percentile(samples, 50),
    latencyP99Ms: percentile(samples, 99),
  };
}
