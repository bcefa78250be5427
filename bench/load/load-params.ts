import type { TargetName } from './wire-protocols.js';

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
}

export interface IdleOpenParams {
  target: TargetName;
  origin: string;
  count: number;
}

export interface RecoveryParams {
  serverPids: number[];
  ticksPerSecond: number;
  origins: string[];
  missed: number;
  samples: number;
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
}
