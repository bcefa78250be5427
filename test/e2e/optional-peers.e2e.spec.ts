import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = '.tmp/peers/test/e2e/peers/without-optional-peers.main.js';

/** Runs the compiled package in a Node process where prom-client and @nestjs/terminus cannot be found. */
function startWithoutPeers(metrics: 'on' | 'off'): {
  started: boolean;
  port?: number;
  name?: string;
  message?: string;
} {
  const output = execFileSync(process.execPath, [SCRIPT, metrics], { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(output.trim().split('\n').pop()!) as { started: boolean };
}

describe('without the optional peers prom-client and @nestjs/terminus', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.peers.json'], { stdio: 'inherit' });
  }, 120_000);

  it('starts and serves with metrics off', () => {
    const outcome = startWithoutPeers('off');
    expect(outcome).toMatchObject({ started: true });
    expect(outcome.port).toBeGreaterThan(0);
  });

  it('fails startup with metrics on, saying what to install', () => {
    expect(startWithoutPeers('on')).toEqual({
      started: false,
      name: 'SssConfigurationError',
      message:
        'SssModule option `metrics` is on, but "prom-client" cannot be loaded: install it (npm install prom-client), or leave `metrics` off.',
    });
  });
});
