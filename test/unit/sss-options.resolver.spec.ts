import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { MemoryScaler, SssConfigurationError, SssModule, type SssModuleOptions } from '../../lib/index.js';
import { resolveSssOptions } from '../../lib/sss-options.resolver.js';

/** What an options object looks like when it comes from configuration: anything at all. */
const resolve = (options: Record<string, unknown>) => resolveSssOptions(options as SssModuleOptions);

function refusal(options: Record<string, unknown>): string {
  try {
    resolve(options);
  } catch (error) {
    expect(error).toBeInstanceOf(SssConfigurationError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

const scaler = new MemoryScaler({ maxMessages: 10, maxAgeMs: 1_000 });

describe('resolveSssOptions', () => {
  it('fills in the documented defaults', () => {
    expect(resolve({})).toEqual({
      path: '/sss',
      sessionGuards: [],
      heartbeatInterval: 25_000,
      trustProxy: false,
      allowedOrigins: undefined,
      shutdownTimeout: 1_000,
      limits: {
        maxFrameBytes: 65_536,
        messagesPerSecond: 100,
        maxSocketsPerAddress: 100,
        maxSubscriptionsPerSocket: 100,
        handlerTimeout: 30_000,
        maxBufferedBytes: 256 * 1024,
        maxChannelLength: 256,
        maxTopicLength: 128,
      },
      retention: { maxMessages: 1_000, maxAgeMs: 86_400_000 },
      metrics: false,
      credentials: { refreshLeadTime: 30_000, expiryGrace: 5_000 },
    });
  });

  it('takes undefined as the default, as ConfigService gives for an unset variable', () => {
    const resolved = resolve({
      path: undefined,
      heartbeatInterval: undefined,
      shutdownTimeout: undefined,
      limits: {
        handlerTimeout: undefined,
        maxFrameBytes: undefined,
        messagesPerSecond: undefined,
        maxBufferedBytes: undefined,
      },
      retention: { maxMessages: undefined, maxAgeMs: undefined },
      credentials: { refreshLeadTime: undefined, expiryGrace: undefined },
    });
    expect(resolved).toEqual(resolve({}));
  });

  it('keeps valid values', () => {
    const resolved = resolve({
      path: 'live/',
      limits: { handlerTimeout: 500, maxFrameBytes: 1024, messagesPerSecond: 5 },
      retention: { maxMessages: 20 },
      shutdownTimeout: 0,
      trustProxy: 'loopback, 10.0.0.0/8',
      allowedOrigins: ['https://example.com'],
      credentials: { refreshLeadTime: 0, expiryGrace: 2_000 },
    });
    expect(resolved.path).toBe('/live');
    expect(resolved.credentials).toEqual({ refreshLeadTime: 0, expiryGrace: 2_000 });
    expect(resolved.limits).toMatchObject({ handlerTimeout: 500, maxFrameBytes: 1024, messagesPerSecond: 5 });
    expect(resolved.retention).toEqual({ maxMessages: 20, maxAgeMs: 86_400_000 });
    expect(resolved.shutdownTimeout).toBe(0);
    expect(resolved.trustProxy).toBe('loopback, 10.0.0.0/8');
    expect(resolved.allowedOrigins).toEqual(['https://example.com']);
  });

  it('refuses negative, fractional, NaN, infinite and non-number values, naming the option', () => {
    expect(refusal({ limits: { handlerTimeout: -5 } })).toBe(
      'SssModule: limits.handlerTimeout must be a positive integer (ms) of at most 2147483647; got -5.',
    );
    expect(refusal({ limits: { maxFrameBytes: Number.NaN } })).toMatch(
      /^SssModule: limits\.maxFrameBytes .*got NaN\.$/,
    );
    expect(refusal({ limits: { messagesPerSecond: 2.5 } })).toMatch(
      /^SssModule: limits\.messagesPerSecond must be a non-negative integer; got 2\.5\.$/,
    );
    expect(refusal({ limits: { maxBufferedBytes: Infinity } })).toMatch(/limits\.maxBufferedBytes .*got Infinity/);
    expect(refusal({ limits: { maxSocketsPerAddress: '100' } })).toMatch(
      /limits\.maxSocketsPerAddress .*got "100" \(a string\)/,
    );
    expect(refusal({ limits: { maxTopicLength: null } })).toMatch(/limits\.maxTopicLength .*got null/);
    expect(refusal({ retention: { maxAgeMs: -1 } })).toMatch(/retention\.maxAgeMs must be a positive integer \(ms\)/);
    expect(refusal({ heartbeatInterval: '25000' })).toMatch(/^SssModule: heartbeatInterval /);
    expect(refusal({ shutdownTimeout: -1 })).toMatch(/^SssModule: shutdownTimeout must be a non-negative integer/);
    expect(refusal({ limits: 100 })).toMatch(/^SssModule: limits must be an object; got 100\.$/);
    expect(refusal({ retention: [] })).toMatch(/^SssModule: retention must be an object/);
    expect(refusal({ credentials: { refreshLeadTime: -1 } })).toBe(
      'SssModule: credentials.refreshLeadTime must be a non-negative integer (ms) of at most 2147483647; got -1.',
    );
    expect(refusal({ credentials: { expiryGrace: '5000' } })).toMatch(/credentials\.expiryGrace .*got "5000"/);
    expect(refusal({ credentials: 30 })).toMatch(/^SssModule: credentials must be an object; got 30\.$/);
  });

  it('refuses timers Node cannot arm (beyond 2^31 - 1 ms they fire at once)', () => {
    expect(refusal({ limits: { handlerTimeout: 2 ** 31 } })).toMatch(/limits\.handlerTimeout .*at most 2147483647/);
    expect(refusal({ heartbeatInterval: 2 ** 31 })).toMatch(/heartbeatInterval .*at most 2147483647/);
  });

  it('switches a limit off with 0 where that makes sense, and refuses 0 elsewhere', () => {
    const off = resolve({ limits: { messagesPerSecond: 0, maxSocketsPerAddress: 0, maxSubscriptionsPerSocket: 0 } });
    expect(off.limits).toMatchObject({
      messagesPerSecond: Infinity,
      maxSocketsPerAddress: Infinity,
      maxSubscriptionsPerSocket: Infinity,
    });
    for (const limit of ['maxFrameBytes', 'handlerTimeout', 'maxBufferedBytes', 'maxChannelLength', 'maxTopicLength']) {
      expect(refusal({ limits: { [limit]: 0 } })).toMatch(new RegExp(`limits\\.${limit} must be a positive integer`));
    }
    expect(refusal({ retention: { maxMessages: 0 } })).toMatch(/retention\.maxMessages must be a positive integer/);
    expect(refusal({ heartbeatInterval: 0 })).toMatch(/heartbeatInterval must be a positive integer/);
  });

  it('has one place for retention: the module-level one is for the embedded scaler only', () => {
    expect(resolve({ scaler }).retention).toEqual({ maxMessages: 1_000, maxAgeMs: 86_400_000 });
    const message = refusal({ scaler, retention: { maxMessages: 10 } });
    expect(message).toContain('`retention`');
    expect(message).toContain('`scaler`');
    expect(refusal({ scaler: { publish: () => undefined } })).toMatch(
      /^SssModule: scaler must be a Scaler \(missing connect,/,
    );
  });

  it('checks trustProxy as Express does: booleans, hop counts, addresses, CIDR ranges, names, functions', () => {
    for (const trustProxy of [
      true,
      false,
      2,
      '127.0.0.1',
      'loopback, uniquelocal',
      ['10.0.0.0/8', '::1/128', '192.168.0.0/255.255.0.0'],
      () => true,
    ]) {
      expect(resolve({ trustProxy }).trustProxy).toBe(trustProxy);
    }
    expect(refusal({ trustProxy: -1 })).toMatch(/^SssModule: trustProxy must be .*; got -1\.$/);
    expect(refusal({ trustProxy: 1.5 })).toMatch(/^SssModule: trustProxy /);
    expect(refusal({ trustProxy: 'nginx' })).toMatch(/"nginx" \(a string\) is not an address/);
    expect(refusal({ trustProxy: ['10.0.0.0/33'] })).toMatch(/"10\.0\.0\.0\/33" \(a string\) is not an address/);
    expect(refusal({ trustProxy: '' })).toMatch(/^SssModule: trustProxy /);
    expect(refusal({ trustProxy: { ip: '10.0.0.1' } })).toMatch(/^SssModule: trustProxy .*got an object/);
  });

  it('checks allowedOrigins: a list of origins or a function', () => {
    const allow = (origin: string | undefined) => origin === 'https://example.com';
    expect(resolve({ allowedOrigins: allow }).allowedOrigins).toBe(allow);
    expect(refusal({ allowedOrigins: 'https://example.com' })).toMatch(
      /^SssModule: allowedOrigins must be an array of origins or a function; got "https:\/\/example\.com" \(a string\)\.$/,
    );
    expect(refusal({ allowedOrigins: ['https://example.com', ''] })).toMatch(/^SssModule: allowedOrigins\[1\] must be/);
    expect(refusal({ allowedOrigins: [42] })).toMatch(/allowedOrigins\[0\] .*got 42/);
  });

  it('checks metrics: off by default, true, or { registry, prefix }', () => {
    expect(resolve({ metrics: false }).metrics).toBe(false);
    expect(resolve({ metrics: true }).metrics).toEqual({ prefix: 'sss_' });
    const registry = { registerMetric: () => undefined, getSingleMetric: () => undefined, removeSingleMetric: () => 0 };
    expect(resolve({ metrics: { registry, prefix: 'chat_' } }).metrics).toEqual({ registry, prefix: 'chat_' });
    expect(refusal({ metrics: 'yes' })).toMatch(/^SssModule: metrics must be true, false or an object/);
    expect(refusal({ metrics: { registry: {} } })).toMatch(
      /^SssModule: metrics.registry must be a prom-client Registry/,
    );
    expect(refusal({ metrics: { prefix: 'my-app ' } })).toMatch(
      /^SssModule: metrics.prefix must be a metric name prefix/,
    );
  });

  it('checks path and sessionGuards', () => {
    expect(refusal({ path: 42 })).toMatch(/^SssModule: path must be a URL path/);
    expect(refusal({ path: '/sss?x=1' })).toMatch(/^SssModule: path must be a URL path/);
    expect(refusal({ sessionGuards: [class Guard {}, {}] })).toMatch(/^SssModule: sessionGuards\[1\] must be a guard/);
    expect(refusal({ sessionGuards: 'CookieGuard' })).toMatch(/^SssModule: sessionGuards must be a guard/);
    expect(resolve({ sessionGuards: { canActivate: () => true } }).sessionGuards).toHaveLength(1);
  });
});

describe('SssModule', () => {
  it('fails startup on invalid options, before anything listens', async () => {
    const compiling = Test.createTestingModule({
      imports: [SssModule.forRoot({ limits: { handlerTimeout: -5 } })],
    }).compile();
    await expect(compiling).rejects.toThrow(
      'SssModule: limits.handlerTimeout must be a positive integer (ms) of at most 2147483647; got -5.',
    );
  });
});
