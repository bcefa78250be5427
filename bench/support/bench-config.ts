import type { TargetName } from '../load/wire-protocols.js';
import { descriptorLimit } from './descriptor-limit.js';

export type ScenarioName =
  'ask' | 'client' | 'fan-out' | 'fan-out-saturated' | 'publish' | 'idle-memory' | 'recovery' | 'many-channels';

export const ALL_SCENARIOS: ScenarioName[] = [
  'ask',
  'client',
  'fan-out',
  'fan-out-saturated',
  'publish',
  'idle-memory',
  'recovery',
  'many-channels',
];
export const ALL_TARGETS: TargetName[] = ['raw-ws', 'socket-io', 'sss', 'sss-history-off', 'sss-cluster'];

/** Every knob of a run; each has an environment variable (see bench/README.md). */
export interface BenchConfig {
  scenarios: ScenarioName[];
  targets: TargetName[];
  /** Runs of each scenario per target; targets alternate within each repeat. */
  repeats: number;
  ask: { connections: number; inFlight: number; repeats: number };
  warmupMs: number;
  measureMs: number;
  fanOut: { subscribers: number; rate: number };
  /** Fan-out asked for more than the servers can deliver. */
  saturated: { subscribers: number; rate: number };
  /** The client library's own cost (see client-library.load.ts). */
  client: { subscribers: number; burst: number; connections: number; inFlight: number };
  /** One stored publish at a time, with an empty history and with `stored` messages already in it. */
  publish: { rate: number; stored: number };
  idle: { connections: number };
  recovery: { missed: number; samples: number };
  manyChannels: {
    channels: number;
    subscribersPerChannel: number;
    connections: number;
    rate: number;
    repeats: number;
    /** Also run ours with MongoDB history (on by default; `BENCH_MANY_HISTORY=0` leaves it out). */
    withHistory: boolean;
  };
  drainTimeoutMs: number;
  setupTimeoutMs: number;
  /** Where the servers write `--cpu-prof` profiles (named after target, scenario, repeat, instance); unset: none. */
  cpuProfileDir?: string;
  /** Where results go. */
  outDir: string;
  /** The compiled bench of another tree (its `.tmp/bench`), run as target `sss-baseline`. */
  baselineDir?: string;
  /**
   * Raw `ws` stores each publish with the driver's `insertOne` before relaying it in the fan-out
   * and many-channels scenarios too (`BENCH_RAW_HISTORY=1`), as it always does in `publish`.
   */
  rawHistory: boolean;
}

function numberFrom(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name} must be a non-negative number, got ${value}`);
  return parsed;
}

function listFrom<T extends string>(name: string, all: T[]): T[] {
  const value = process.env[name];
  if (!value) return all;
  const picked = value.split(',').map((item) => item.trim()) as T[];
  const unknown = picked.filter((item) => !all.includes(item));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return picked;
}

export function readBenchConfig(defaultOutDir: string): BenchConfig {
  const repeats = numberFrom('BENCH_REPEATS', 3);
  return {
    scenarios: listFrom('BENCH_SCENARIOS', ALL_SCENARIOS),
    targets: listFrom('BENCH_TARGETS', [...ALL_TARGETS, 'sss-baseline']).filter(
      (target) => target !== 'sss-baseline' || process.env.BENCH_BASELINE,
    ),
    repeats,
    warmupMs: numberFrom('BENCH_WARMUP_MS', 2_000),
    measureMs: numberFrom('BENCH_MEASURE_MS', 5_000),
    ask: {
      connections: numberFrom('BENCH_ASK_CONNECTIONS', 64),
      inFlight: numberFrom('BENCH_ASK_IN_FLIGHT', 8),
      // Closed-loop round trips at saturation are the noisiest figure, and the cheapest to repeat.
      repeats: numberFrom('BENCH_ASK_REPEATS', Math.max(repeats, 5)),
    },
    fanOut: {
      subscribers: numberFrom('BENCH_FANOUT_SUBSCRIBERS', 1_000),
      rate: numberFrom('BENCH_FANOUT_RATE', 20),
    },
    saturated: {
      subscribers: numberFrom('BENCH_SATURATED_SUBSCRIBERS', 100),
      rate: numberFrom('BENCH_SATURATED_RATE', 2_000),
    },
    client: {
      subscribers: numberFrom('BENCH_CLIENT_SUBSCRIBERS', 50),
      burst: numberFrom('BENCH_CLIENT_BURST', 100),
      connections: numberFrom('BENCH_CLIENT_CONNECTIONS', 16),
      inFlight: numberFrom('BENCH_CLIENT_IN_FLIGHT', 8),
    },
    publish: {
      rate: numberFrom('BENCH_PUBLISH_RATE', 100),
      stored: numberFrom('BENCH_PUBLISH_STORED', 100_000),
    },
    // As many as the descriptor limit allows (the processes start with their soft limit raised to
    // the hard one; 1,000 left for everything else), at most the 100,000.
    idle: { connections: numberFrom('BENCH_IDLE_CONNECTIONS', Math.min(100_000, descriptorLimit('hard') - 1_000)) },
    recovery: {
      missed: numberFrom('BENCH_RECOVERY_MISSED', 1_000),
      samples: numberFrom('BENCH_RECOVERY_SAMPLES', 5),
    },
    manyChannels: {
      channels: numberFrom('BENCH_MANY_CHANNELS', 10_000),
      subscribersPerChannel: numberFrom('BENCH_MANY_SUBSCRIBERS', 2),
      connections: numberFrom('BENCH_MANY_CONNECTIONS', 1_000),
      rate: numberFrom('BENCH_MANY_RATE', 1_000),
      repeats: numberFrom('BENCH_MANY_REPEATS', Math.min(repeats, 2)),
      withHistory: process.env.BENCH_MANY_HISTORY !== '0',
    },
    drainTimeoutMs: numberFrom('BENCH_DRAIN_TIMEOUT_MS', 15_000),
    setupTimeoutMs: numberFrom('BENCH_SETUP_TIMEOUT_MS', 120_000),
    cpuProfileDir: process.env.BENCH_CPU_PROFILE || undefined,
    outDir: process.env.BENCH_OUT || defaultOutDir,
    baselineDir: process.env.BENCH_BASELINE || undefined,
    rawHistory: process.env.BENCH_RAW_HISTORY === '1',
  };
}
