import type { ArgumentsHost } from '@nestjs/common';
import type { SssHandshake } from '../interfaces/sss-handshake.interface.js';
import type { SssChannelRequest, SssRequest } from '../interfaces/sss-request.interface.js';
import type { SssSocket } from '../server/sss-socket.js';

/**
 * Reads an `ExecutionContext` (or `ArgumentsHost`) of type `'sss'` in guards, interceptors, filters
 * and param decorators, the way `GqlExecutionContext` does for GraphQL. `switchToWs()` works too:
 * `getClient()` is the socket and `getData()` the payload.
 *
 * @example
 * ```ts
 * canActivate(context: ExecutionContext) {
 *   const sss = SssExecutionContext.create(context);
 *   const request = sss.getChannelRequest();
 *   return request?.query === this.passwords.get(request.params.id);
 * }
 * ```
 */
export class SssExecutionContext {
  private constructor(private readonly host: ArgumentsHost) {}

  static create(host: ArgumentsHost): SssExecutionContext {
    return new SssExecutionContext(host);
  }

  /** The socket; `undefined` during the upgrade (see `getHandshake()`). */
  getSocket(): SssSocket | undefined {
    return this.getRequest().kind === 'upgrade' ? undefined : this.host.getArgByIndex<SssSocket>(0);
  }

  /** The ask/tell data, or the subscription query. */
  getPayload<T = unknown>(): T {
    return this.host.getArgByIndex<T>(1);
  }

  /** What is being handled. */
  getRequest(): SssRequest {
    return this.host.getArgByIndex<SssRequest>(2);
  }

  /** The subscription being authorized, when this is a `@Channel` context. */
  getChannelRequest(): SssChannelRequest | undefined {
    const request = this.getRequest();
    return request.kind === 'channel' ? request : undefined;
  }

  /** The handshake being checked, when this is a session guard at the upgrade. */
  getHandshake(): SssHandshake | undefined {
    const request = this.getRequest();
    return request.kind === 'upgrade' ? request.handshake : undefined;
  }
}
