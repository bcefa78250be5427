import { SssConfigurationError } from '../errors/sss-configuration.error.js';
import { SssMessages } from '../sss.messages.js';
import type { SssClusterOptions } from './sss-cluster-options.interface.js';

const MAX_TIMER_MS = 2_147_483_647;

/** Checks `SssCluster.run`'s options before any worker starts; the message names the option. */
export function validateSssClusterOptions(options: unknown): asserts options is SssClusterOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail('options', 'an object', options);
  const { workers, retention, respawn, startTimeout, drainTimeout, handleSignals } = options as Record<string, unknown>;
  checkInteger('workers', workers, 1, 1_024);
  if (retention !== undefined) {
    if (!isRecord(retention)) fail('retention', 'an object', retention);
    checkInteger('retention.maxMessages', retention.maxMessages, 1, Number.MAX_SAFE_INTEGER);
    checkInteger('retention.maxAgeMs', retention.maxAgeMs, 1, Number.MAX_SAFE_INTEGER);
  }
  if (respawn !== undefined) {
    if (!isRecord(respawn)) fail('respawn', 'an object', respawn);
    checkInteger('respawn.initialDelay', respawn.initialDelay, 0, MAX_TIMER_MS);
    checkInteger('respawn.maxDelay', respawn.maxDelay, 0, MAX_TIMER_MS);
    checkInteger('respawn.stableAfter', respawn.stableAfter, 0, MAX_TIMER_MS);
  }
  checkInteger('startTimeout', startTimeout, 1, MAX_TIMER_MS);
  checkInteger('drainTimeout', drainTimeout, 1, MAX_TIMER_MS);
  if (handleSignals !== undefined && typeof handleSignals !== 'boolean')
    fail('handleSignals', 'a boolean', handleSignals);
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return;
  fail(name, `an integer from ${min} to ${max}`, value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(option: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? `${JSON.stringify(got.slice(0, 60))} (a string)` : String(got);
  throw new SssConfigurationError(SssMessages.invalidClusterOption(option, expected, shown));
}
