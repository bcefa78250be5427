import type { ExternalExceptionsHandler } from '@nestjs/core/exceptions/external-exceptions-handler.js';
import { ExecutionContextHost } from '@nestjs/core/internal';

type Target = (...args: unknown[]) => Promise<unknown>;

/**
 * Runs the exception filters of a handler, like Nest's own external error proxy, minus its
 * fallback, which logs every non-HTTP exception (an expected `WsException` included) at error
 * level. What no filter handles is rethrown to the router, which answers the client and logs only
 * unexpected errors.
 */
export class FiltersOnlyErrorProxy {
  createProxy(target: Target, exceptionsHandler: ExternalExceptionsHandler, type: string): Target {
    return async (...args: unknown[]) => {
      try {
        return await target(...args);
      } catch (error) {
        const host = new ExecutionContextHost(args);
        host.setType(type);
        const handled: unknown = await exceptionsHandler.invokeCustomFilters(error, host);
        if (handled !== undefined) return handled;
        throw error;
      }
    };
  }
}
