import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CredentialRefresh, DEFAULT_REFRESH_OPTIONS } from '../../../lib/client/credential-refresh.js';
import { SssClientError } from '../../../lib/client/sss-client.error.js';

describe('CredentialRefresh', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    // The backoff's jitter can draw a 0 ms delay (1 in 100 here), which fires within
    // `advanceTimersByTimeAsync(0)`: a fixed draw keeps every retry pending for 50 ms.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  function setup(getToken: () => string | Promise<string>, send: (credential: string) => Promise<void>) {
    const errors: SssClientError[] = [];
    const sent: string[] = [];
    const refresh = new CredentialRefresh(
      {
        getToken,
        sendCredential: (credential) => {
          sent.push(credential);
          return send(credential);
        },
        reportError: (error) => errors.push(error),
      },
      { initialDelay: 100, maxDelay: 100, factor: 2 },
    );
    return { refresh, errors, sent };
  }

  it('documents the defaults', () => {
    expect(DEFAULT_REFRESH_OPTIONS).toEqual({ initialDelay: 500, maxDelay: 10_000, factor: 2 });
  });

  it('retries a throwing or rejecting getToken with backoff, reporting REFRESH_FAILED each time', async () => {
    const answers: Array<() => string | Promise<string>> = [
      () => {
        throw new Error('offline');
      },
      () => Promise.reject(new Error('still offline')),
      () => 'fresh',
    ];
    const { refresh, errors, sent } = setup(
      () => answers.shift()!(),
      async () => undefined,
    );
    refresh.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual(['fresh']);
    expect(errors.map((error) => [error.code, (error.cause as Error).message])).toEqual([
      ['REFRESH_FAILED', 'offline'],
      ['REFRESH_FAILED', 'still offline'],
    ]);
  });

  it('refuses an empty or non-string token as REFRESH_FAILED', async () => {
    const { refresh, errors, sent } = setup(
      () => '' as string,
      async () => undefined,
    );
    refresh.start();
    await vi.advanceTimersByTimeAsync(250);
    expect(sent).toEqual([]);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0].code).toBe('REFRESH_FAILED');
    refresh.stop();
  });

  it('retries a temporary server error, gives up quietly when the connection drops, and stops on stop()', async () => {
    const replies = [new SssClientError('UNAVAILABLE', 'busy'), new SssClientError('DISCONNECTED', 'gone')];
    const { refresh, errors, sent } = setup(
      () => 'token',
      async () => {
        throw replies.shift()!;
      },
    );
    refresh.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual(['token', 'token']);
    expect(errors.map((error) => error.code)).toEqual(['UNAVAILABLE']);

    // A later request starts again; stop() cancels its pending retry.
    replies.push(new SssClientError('TIMEOUT', 'slow'));
    refresh.start();
    await vi.advanceTimersByTimeAsync(0);
    refresh.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual(['token', 'token', 'token']);
  });

  it('runs one refresh at a time, serving a request that came meanwhile once it is done', async () => {
    let release!: () => void;
    const { refresh, sent } = setup(
      () => 'token',
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    refresh.start();
    refresh.start();
    refresh.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['token']);
    release();
    await vi.advanceTimersByTimeAsync(0);
    // The requests that came while the first ran are served by one more refresh.
    expect(sent).toEqual(['token', 'token']);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['token', 'token']);
    refresh.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['token', 'token', 'token']);
  });
});
