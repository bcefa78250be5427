import { isIP } from 'node:net';
import { SssConfigurationError } from './errors/sss-configuration.error.js';
import type {
  SssCredentialOptions,
  SssLimits,
  SssModuleOptions,
  SssRetention,
} from './interfaces/sss-module-options.interface.js';
import { SssMessages } from './sss.messages.js';

/** The largest delay `setTimeout` and `setInterval` honour; beyond, Node fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** What a number option accepts: integers from `min` to `max`, `unit` for the message. */
interface IntegerRule {
  min: 0 | 1;
  max?: number;
  unit?: string;
}

const LIMIT_RULES: Record<keyof SssLimits, IntegerRule> = {
  maxFrameBytes: { min: 1, unit: 'bytes' },
  messagesPerSecond: { min: 0 },
  maxSocketsPerAddress: { min: 0 },
  maxSubscriptionsPerSocket: { min: 0 },
  handlerTimeout: { min: 1, max: MAX_TIMER_MS, unit: 'ms' },
  maxBufferedBytes: { min: 1, unit: 'bytes' },
  maxChannelLength: { min: 1, unit: 'characters' },
  maxTopicLength: { min: 1, unit: 'characters' },
};

const RETENTION_RULES: Record<keyof SssRetention, IntegerRule> = {
  maxMessages: { min: 1 },
  maxAgeMs: { min: 1, unit: 'ms' },
};

const CREDENTIAL_RULES: Record<keyof SssCredentialOptions, IntegerRule> = {
  refreshLeadTime: { min: 0, max: MAX_TIMER_MS, unit: 'ms' },
  expiryGrace: { min: 0, max: MAX_TIMER_MS, unit: 'ms' },
};

const SCALER_METHODS = [
  'connect',
  'publish',
  'signal',
  'subscribe',
  'unsubscribe',
  'position',
  'historySince',
  'close',
] as const;

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Checks `SssModule`'s options before anything starts, so that a configuration mistake (an unset
 * environment variable, a string where a number belongs) fails startup with the option's name
 * instead of switching a limit off. `undefined` always means the default.
 */
export function validateSssOptions(options: SssModuleOptions): void {
  if (!isRecord(options)) fail('options', 'an object', options);
  const { path, sessionGuards, scaler, retention, heartbeatInterval, trustProxy, allowedOrigins } = options;
  if (path !== undefined && (typeof path !== 'string' || /[\s?#]/.test(path))) {
    fail('path', 'a URL path without spaces, "?" or "#" (e.g. \'/sss\')', path);
  }
  if (sessionGuards !== undefined) {
    const guards: unknown[] = Array.isArray(sessionGuards) ? sessionGuards : [sessionGuards];
    guards.forEach((guard, index) => {
      if (!isGuard(guard)) {
        const name = Array.isArray(sessionGuards) ? `sessionGuards[${index}]` : 'sessionGuards';
        fail(name, 'a guard class or an object with a canActivate() method', guard);
      }
    });
  }
  if (scaler !== undefined) {
    const missing = isRecord(scaler)
      ? SCALER_METHODS.filter((method) => typeof scaler[method] !== 'function')
      : [...SCALER_METHODS];
    if (missing.length > 0) fail('scaler', `a Scaler (missing ${missing.join(', ')})`, scaler);
    if (retention !== undefined) throw new SssConfigurationError(SssMessages.retentionWithCustomScaler);
  }
  if (retention !== undefined) checkGroup('retention', retention, RETENTION_RULES);
  checkInteger('heartbeatInterval', heartbeatInterval, { min: 1, max: MAX_TIMER_MS, unit: 'ms' });
  checkInteger('shutdownTimeout', options.shutdownTimeout, { min: 0, max: MAX_TIMER_MS, unit: 'ms' });
  if (trustProxy !== undefined) checkTrustProxy(trustProxy);
  if (allowedOrigins !== undefined && typeof allowedOrigins !== 'function') {
    if (!Array.isArray(allowedOrigins)) fail('allowedOrigins', 'an array of origins or a function', allowedOrigins);
    allowedOrigins.forEach((origin: unknown, index) => {
      if (typeof origin !== 'string' || origin.length === 0 || /\s/.test(origin)) {
        fail(`allowedOrigins[${index}]`, "an origin such as 'https://example.com'", origin);
      }
    });
  }
  if (options.limits !== undefined) checkGroup('limits', options.limits, LIMIT_RULES);
  if (options.credentials !== undefined) checkGroup('credentials', options.credentials, CREDENTIAL_RULES);
  if (options.metrics !== undefined) checkMetrics(options.metrics);
}

function checkMetrics(metrics: unknown): void {
  if (typeof metrics === 'boolean') return;
  if (!isRecord(metrics)) fail('metrics', 'true, false or an object { registry?, prefix? }', metrics);
  const { registry, prefix } = metrics;
  if (
    registry !== undefined &&
    !(
      isRecord(registry) &&
      typeof registry.registerMetric === 'function' &&
      typeof registry.getSingleMetric === 'function' &&
      typeof registry.removeSingleMetric === 'function'
    )
  ) {
    fail('metrics.registry', 'a prom-client Registry', registry);
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))) {
    fail('metrics.prefix', "a metric name prefix of letters, digits, '_' and ':' (e.g. 'sss_')", prefix);
  }
}

function checkGroup(name: string, group: unknown, rules: Record<string, IntegerRule>): void {
  if (!isRecord(group)) fail(name, 'an object', group);
  for (const key of Object.keys(rules)) {
    checkInteger(`${name}.${key}`, group[key], rules[key]);
  }
}

function checkInteger(name: string, value: unknown, rule: IntegerRule): void {
  if (value === undefined) return;
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= max) return;
  const kind = rule.min === 0 ? 'a non-negative integer' : 'a positive integer';
  const unit = rule.unit ? ` (${rule.unit})` : '';
  const range = rule.max === undefined ? '' : ` of at most ${rule.max}`;
  fail(name, `${kind}${unit}${range}`, value);
}

function checkTrustProxy(trustProxy: unknown): void {
  const expected = 'true, false, a hop count, addresses or CIDR ranges, or a function';
  if (typeof trustProxy === 'boolean' || typeof trustProxy === 'function') return;
  if (typeof trustProxy === 'number') {
    if (!Number.isInteger(trustProxy) || trustProxy < 0)
      fail('trustProxy', `${expected} (hop count: an integer ≥ 0)`, trustProxy);
    return;
  }
  const entries: unknown[] =
    typeof trustProxy === 'string'
      ? trustProxy.split(',').map((entry) => entry.trim())
      : Array.isArray(trustProxy)
        ? trustProxy
        : [trustProxy];
  if (typeof trustProxy !== 'string' && !Array.isArray(trustProxy)) fail('trustProxy', expected, trustProxy);
  for (const entry of entries) {
    if (typeof entry !== 'string' || !isProxyAddress(entry)) {
      fail(
        'trustProxy',
        `${expected}; ${describe(entry)} is not an address, a CIDR range or ${[...PROXY_NAMES].join('/')}`,
        trustProxy,
      );
    }
  }
}

/** An IP address, an address with a prefix length or a netmask, or one of proxy-addr's names. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return false;
  if (slash === -1) return true;
  const suffix = entry.slice(slash + 1);
  if (/^\d+$/.test(suffix)) return Number(suffix) <= (version === 4 ? 32 : 128);
  return version === 4 && isIP(suffix) === 4;
}

function isGuard(guard: unknown): boolean {
  return typeof guard === 'function' || (isRecord(guard) && typeof guard.canActivate === 'function');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(option: string, expected: string, got: unknown): never {
  throw new SssConfigurationError(SssMessages.invalidOption(option, expected, describe(got)));
}

/** A short, safe rendering of a configured value for a message. */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
}
