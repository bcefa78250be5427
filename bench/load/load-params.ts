import type { TargetName } from './wire-protocols.js';

/** Where ours (the bench's `MongoRedisScaler`, default prefix) stores messages. */
export const OUR_MESSAGES_COLLECTION = 'sss_messages';

/** The measured window on the monotonic clock, in µs (the clock of `--cpu-prof` timestamps). */
export interface MeasuredWindow {
  fromUs: number;
  toUs: number;
}

/** What every load run needs to know to measure the servers' CPU itself, at the edges of its window. */
interface Measured {
  target: TargetName;
  serverPids: number[];
  ticksPerSecond: number;
  warmupMs: number;
  measureMs: number;
}

export interface AskParams extends Measured {
  origin: string;
  connections: number;
  inFlight: number;
}

export interface AskResult {
  window: MeasuredWindow;
  roundTrips: number;
  seconds: number;
  cpuMicros: number;
  /** The user-time part of `cpuMicros` (the rest is the kernel's). */
  userMicros: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
  /** The server's read and write system calls in the window: how much its I/O was batched. */
  readSyscalls: number;
  writeSyscalls: number;
}

export interface FanOutParams extends Measured {
  /** One origin per instance; subscriber connections alternate between them, publishes go to the first. */
  origins: string[];
  connections: number;
  channels: number;
  subscribersPerChannel: number;
  /** Publishes per second, spread round-robin over the channels. */
  rate: number;
  /** How long to wait for the last deliveries after publishing stopped. */
  drainTimeoutMs: number;
  /** Longest time connecting and subscribing may take before the run is given up. */
  setupTimeoutMs: number;
}

export interface FanOutResult {
  window: MeasuredWindow;
  setupSeconds: number;
  /** Publishes and deliveries of the measured window. */
  publishes: number;
  deliveries: number;
  expectedDeliveries: number;
  seconds: number;
  cpuMicros: number;
  /** The user-time part of `cpuMicros` (the rest is the kernel's). */
  userMicros: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Over the whole run, warm-up included. */
  totalExpected: number;
  totalDelivered: number;
  outOfOrder: number;
  publishErrors: number;
  /** Deliveries that arrived during the measured window, per second (throughput at saturation). */
  arrivalsPerSecond: number;
  /** Publishes of the measured window acknowledged within 10 s. */
  ackedInTimePercent: number;
  /** The largest peak RSS (VmHWM) among the servers, MB. */
  serverPeakRssMB: number;
}

export interface IdleOpenParams {
  target: TargetName;
  origin: string;
  count: number;
}

export interface RecoveryParams {
  /**
   * `memory`: another client follows the channel on the recovering instance all along, so it has
   * the missed messages in memory; `store`: nobody does, so it reads them from MongoDB.
   */
  source: 'memory' | 'store';
  serverPids: number[];
  ticksPerSecond: number;
  origins: string[];
  missed: number;
  samples: number;
  /**
   * For `store`: the database the instances use. Each sample then also times one driver read of
   * the missed range there, after the recovery: what the store alone takes.
   */
  mongoUrl?: string;
}

export interface RecoverySample {
  /** From opening the connection to the other instance until the last missed message arrived. */
  connectToAllMs: number;
  /** From sending `sub` with `since` until the last missed message arrived. */
  subscribeToAllMs: number;
  /** CPU of the instance that served the recovery, over the same span as `connectToAllMs`. */
  cpuMicros: number;
  received: number;
  recovered: boolean;
  inOrder: boolean;
  /** One driver `find` of the missed range, sorted by seq (`mongoUrl` only). */
  driverRead?: { ms: number; documents: number };
}

export interface ClientLibraryParams {
  /** Whose client runs in the load generator: ours (`SssClient`) or a bare `ws` client. */
  client: 'sss' | 'raw-ws';
  origin: string;
  /** Connections subscribed to the channel the server publishes bursts to. */
  subscribers: number;
  /** Publishes per burst (the next burst once the last one is stored). */
  burst: number;
  connections: number;
  inFlight: number;
  warmupMs: number;
  measureMs: number;
}

export interface ClientLibraryResult {
  deliveries: number;
  /** The load generator's own CPU over the delivery window (µs). */
  deliveryCpuMicros: number;
  deliveriesPerSecond: number;
  asks: number;
  /** The load generator's own CPU over the ask window (µs). */
  askCpuMicros: number;
  asksPerSecond: number;
}

export interface PublishCostParams {
  target: TargetName;
  origin: string;
  serverPids: number[];
  ticksPerSecond: number;
  /** Publishes per second, one at a time (open loop). */
  rate: number;
  warmupMs: number;
  measureMs: number;
}

export interface PublishCostResult {
  publishes: number;
  errors: number;
  cpuMicros: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}
