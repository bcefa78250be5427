import { ReconnectBackoff, type BackoffOptions } from './reconnect-backoff.js';
import { SssClientError, SssClientErrorCode } from './sss-client.error.js';

/** The refresh retry defaults: `{ initialDelay: 500, maxDelay: 10_000, factor: 2 }`. */
export const DEFAULT_REFRESH_OPTIONS: Readonly<BackoffOptions> = Object.freeze({
  initialDelay: 500,
  maxDelay: 10_000,
  factor: 2,
});

/** What a credential refresh needs from the client. */
export interface CredentialRefreshHost {
  /** The application's `getToken()` option. */
  getToken(): string | Promise<string>;
  /** Sends `auth` with the credential; resolves on `ack`, rejects with the failure. */
  sendCredential(credential: string): Promise<void>;
  /** A failed attempt (it is retried). */
  reportError(error: SssClientError): void;
}

/**
 * Answers the server's `refresh` requests: calls `getToken()` and sends the credential in-band,
 * retrying failures (a throwing `getToken`, a temporary server error, a timeout) with jittered
 * backoff. It stops when the connection goes away: the server then either closes the socket
 * (4003: expired, 4004: refused) or asks again on the next connection.
 */
export class CredentialRefresh {
  private readonly backoff: ReconnectBackoff;
  private running = false;
  /** A request that came while a refresh ran: served once that one is done. */
  private requestedAgain = false;
  /** Bumped by `stop()`, so that an attempt started before it can tell it is stale. */
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: CredentialRefreshHost,
    options: BackoffOptions,
  ) {
    this.backoff = new ReconnectBackoff(options);
  }

  /**
   * The server asked for a fresh credential. While a refresh runs, the request is remembered and
   * served once it is done (its answer may have crossed a request for a newer credential).
   */
  start(): void {
    if (this.running) {
      this.requestedAgain = true;
      return;
    }
    this.running = true;
    this.backoff.reset();
    void this.attempt(this.generation);
  }

  /** The connection went away (or the client closed): give up the refresh in progress. */
  stop(): void {
    this.generation += 1;
    this.running = false;
    this.requestedAgain = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async attempt(generation: number): Promise<void> {
    try {
      const credential = await this.host.getToken();
      if (generation !== this.generation) return;
      if (typeof credential !== 'string' || credential.length === 0) {
        throw new SssClientError(SssClientErrorCode.RefreshFailed, 'getToken() must resolve with a non-empty string');
      }
      await this.host.sendCredential(credential);
      if (generation !== this.generation) return;
      this.running = false;
      if (this.requestedAgain) {
        this.requestedAgain = false;
        this.start();
      }
    } catch (caught) {
      if (generation !== this.generation) return;
      const error =
        caught instanceof SssClientError
          ? caught
          : new SssClientError(SssClientErrorCode.RefreshFailed, 'getToken() failed', undefined, { cause: caught });
      // The connection dropped (a refusal closes it with 4004): its close decides what follows.
      if (error.code === SssClientErrorCode.Disconnected || error.code === SssClientErrorCode.Closed) {
        this.running = false;
        this.requestedAgain = false;
        return;
      }
      this.host.reportError(error);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.attempt(generation);
      }, this.backoff.next());
    }
  }
}
