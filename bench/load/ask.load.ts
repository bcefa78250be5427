import { performance } from 'node:perf_hooks';
import { processSyscalls, totalCpuMicros, totalUserMicros } from '../support/proc-stat.js';
import { percentile, SampleBuffer } from '../support/stats.js';
import { BenchConnection, forEachLimited, monotonicMicros, sleep } from './bench-connection.js';
import type { AskParams, AskResult } from './load-params.js';
import { wireProtocols } from './wire-protocols.js';

const PAYLOAD_JSON = JSON.stringify({ text: 'The quick brown fox jumps over the lazy dog', n: 42 });

/**
 * Request/response round trips: every connection keeps `inFlight` asks outstanding and sends the
 * next one as soon as an answer arrives (closed loop). Counts answers and the servers' CPU over
 * the window after the warm-up.
 */
export async function runAsk(params: AskParams): Promise<AskResult> {
  const protocol = wireProtocols[params.target];
  const connections: BenchConnection[] = [];
  await forEachLimited(Array.from({ length: params.connections }), 16, async () => {
    connections.push(await BenchConnection.open(protocol, params.origin));
  });
  const latencies = new SampleBuffer();
  let measuring = false;
  let windowStart = 0;
  let answered = 0;
  let errors = 0;
  let stopped = false;
  const build = (id: number) => protocol.ask(id, 'echo', PAYLOAD_JSON);
  const askNext = (connection: BenchConnection) => {
    const sentAt = performance.now();
    connection.call(build, (reply) => {
      if (reply.error) errors++;
      if (measuring) {
        answered++;
        if (sentAt >= windowStart) latencies.push(performance.now() - sentAt);
      }
      if (!stopped) askNext(connection);
    });
  };
  for (const connection of connections) for (let slot = 0; slot < params.inFlight; slot++) askNext(connection);

  await sleep(params.warmupMs);
  const cpuBefore = totalCpuMicros(params.serverPids, params.ticksPerSecond);
  const userBefore = totalUserMicros(params.serverPids, params.ticksPerSecond);
  const syscallsBefore = processSyscalls(params.serverPids[0]);
  windowStart = performance.now();
  const fromUs = monotonicMicros();
  measuring = true;
  await sleep(params.measureMs);
  measuring = false;
  const toUs = monotonicMicros();
  const seconds = (performance.now() - windowStart) / 1000;
  const cpuMicros = totalCpuMicros(params.serverPids, params.ticksPerSecond) - cpuBefore;
  const userMicros = totalUserMicros(params.serverPids, params.ticksPerSecond) - userBefore;
  const syscallsAfter = processSyscalls(params.serverPids[0]);
  stopped = true;
  for (const connection of connections) connection.terminate();
  const samples = latencies.view();
  return {
    window: { fromUs, toUs },
    roundTrips: answered,
    seconds,
    cpuMicros,
    userMicros,
    latencyP50Ms: percentile(samples, 50),
    latencyP99Ms: percentile(samples, 99),
    errors,
    readSyscalls: syscallsAfter.reads - syscallsBefore.reads,
    writeSyscalls: syscallsAfter.writes - syscallsBefore.writes,
  };
}
