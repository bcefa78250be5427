import type { AckFrame, ClientFrame, ResponseFrame, SubscribedFrame } from '../protocol/frames.js';
import { SssClientError, SssClientErrorCode } from './sss-client.error.js';

/** The frames that answer a request (`err` fails it instead). */
export type ReplyFrame = ResponseFrame | AckFrame | SubscribedFrame;

interface PendingRequest {
  readonly payload: string;
  /** False while queued for a connection that is not open yet. */
  sent: boolean;
  /** Runs synchronously on the reply, so state it sets up is in place before the next frame. */
  readonly settle: (reply: ReplyFrame) => void;
  readonly fail: (error: SssClientError) => void;
}

/**
 * The requests waiting for an answer, by id: picks the ids, runs each request's timeout, holds
 * requests made while disconnected until `sendQueued`, and settles or fails them.
 */
export class PendingRequests {
  private readonly requests = new Map<number, PendingRequest>();
  private nextId = 1;

  /** @param send writes one payload to the current socket. */
  constructor(private readonly send: (payload: string) => void) {}

  /** How many requests wait for an answer or for a connection. */
  get size(): number {
    return this.requests.size;
  }

  /** A fresh id for a frame whose answer nobody waits for; ids are never reused, even across connections. */
  takeId(): number {
    return this.nextId++;
  }

  /**
   * Registers a request and resolves with what `accept` makes of its reply. It is sent at once when
   * `connected`, else by the next `sendQueued`. `timeout` (ms, queued time included; `Infinity` waits
   * forever) rejects it with `TIMEOUT`.
   */
  add<R>(
    buildFrame: (id: number) => ClientFrame,
    timeout: number,
    accept: (reply: ReplyFrame) => R,
    connected: boolean,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const id = this.nextId++;
      let payload: string;
      try {
        payload = JSON.stringify(buildFrame(id));
      } catch (error) {
        reject(
          new SssClientError(SssClientErrorCode.BadFrame, 'The request is not serialisable as JSON', undefined, {
            cause: error,
          }),
        );
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.requests.delete(id);
      };
      const request: PendingRequest = {
        payload,
        sent: false,
        settle: (reply) => {
          finish();
          try {
            resolve(accept(reply));
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      if (Number.isFinite(timeout)) {
        timer = setTimeout(
          () => request.fail(new SssClientError(SssClientErrorCode.Timeout, `No answer within ${timeout} ms`, { id })),
          timeout,
        );
      }
      this.requests.set(id, request);
      if (connected) this.sendRequest(request);
    });
  }

  /** Settles the sent request this reply answers; returns false when none waits for it. */
  settle(reply: ReplyFrame): boolean {
    const request = this.requests.get(reply.id);
    if (!request?.sent) return false;
    request.settle(reply);
    return true;
  }

  /** Fails the sent request with this id (the server answered `err`); returns false when none waits. */
  fail(id: number, error: SssClientError): boolean {
    const request = this.requests.get(id);
    if (!request?.sent) return false;
    request.fail(error);
    return true;
  }

  /** Sends every request that waited for a connection, in the order they were made. */
  sendQueued(): void {
    for (const request of this.requests.values()) {
      if (!request.sent) this.sendRequest(request);
    }
  }

  /** The connection dropped: fails every request already sent (its answer is lost); queued ones wait on. */
  failSent(error: SssClientError): void {
    for (const request of [...this.requests.values()]) {
      if (request.sent) request.fail(error);
    }
  }

  /** Fails every request, sent or queued. */
  failAll(error: SssClientError): void {
    for (const request of [...this.requests.values()]) request.fail(error);
  }

  private sendRequest(request: PendingRequest): void {
    request.sent = true;
    this.send(request.payload);
  }
}
