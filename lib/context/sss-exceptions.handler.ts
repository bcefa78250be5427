import { Logger, type ExceptionFilter, type Type } from '@nestjs/common';
import { SssMessages } from '../sss.messages.js';
import { SssExecutionContextHost } from './sss-execution-context-host.js';

/** A filter with the exception types its `@Catch()` names (none: it catches everything). */
export interface SelectableFilter {
  filter: ExceptionFilter;
  catches: Type[];
}

/**
 * Runs the exception filters of one handler. A filter decides which error the client gets (by
 * throwing it), never whether the handler failed: whatever a filter returns, the failure stands.
 * So a catch-all filter cannot turn a guard's refusal into a granted subscription.
 */
export class SssExceptionsHandler {
  private static readonly logger = new Logger('SssExceptionsHandler');
  /** Filters already told that their return value is ignored (one warning per filter class). */
  private static readonly warned = new WeakSet<object>();

  /** @param filters in the order they are tried: method, then class, then global ones. */
  constructor(
    private readonly filters: SelectableFilter[],
    private readonly classRef: Type,
    private readonly handler: Function,
  ) {}

  get isEmpty(): boolean {
    return this.filters.length === 0;
  }

  /** Lets the first matching filter see `error`; always rejects, with what that filter threw or `error`. */
  async handle(error: unknown, args: unknown[]): Promise<never> {
    const selected = this.filters.find(
      ({ catches }) => catches.length === 0 || catches.some((type) => error instanceof type),
    );
    if (!selected) throw error;
    const host = new SssExecutionContextHost(args, this.classRef, this.handler);
    // A throw (or a rejection) inside the filter propagates from here: it replaces `error`.
    const returned: unknown = await selected.filter.catch(error, host);
    if (returned !== undefined) this.warnIgnoredReturn(selected.filter);
    throw error;
  }

  private warnIgnoredReturn(filter: ExceptionFilter): void {
    const type = filter.constructor;
    if (SssExceptionsHandler.warned.has(type)) return;
    SssExceptionsHandler.warned.add(type);
    SssExceptionsHandler.logger.warn(SssMessages.filterReturnIgnored(type.name));
  }
}
