import { Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { SssError } from '../errors/sss.error.js';
import { toErrorFrame } from '../router/error-frame.mapper.js';

/**
 * The answer SSS handlers give to an exception, as a filter to extend (like `BaseWsExceptionFilter`
 * for `@SubscribeMessage`). `catch()` throws the `SssError` the client receives as its error frame:
 * `SssError` as is, `WsException` and `HttpException` with their codes, anything else logged and
 * answered `INTERNAL_ERROR`. A filter decides which error the client gets, never whether the
 * handler failed: throw to change the answer; a value a filter returns is ignored.
 *
 * @example
 * ```ts
 * @Catch()
 * export class ReportingFilter extends BaseSssExceptionFilter {
 *   override catch(exception: unknown, host: ArgumentsHost): never {
 *     if (exception instanceof RoomFullError) throw new SssError('ROOM_FULL', 'This room is full.');
 *     report(exception);
 *     return super.catch(exception, host);
 *   }
 * }
 * ```
 */
export class BaseSssExceptionFilter<T = unknown> implements ExceptionFilter<T> {
  protected static readonly logger = new Logger('SssExceptionsHandler');

  catch(exception: T, host: ArgumentsHost): never {
    throw this.toSssError(exception, host);
  }

  /** The error the client gets for `exception`; override to map your own errors to codes. */
  protected toSssError(exception: unknown, _host: ArgumentsHost): SssError {
    if (exception instanceof SssError) return exception;
    const frame = toErrorFrame(undefined, exception, BaseSssExceptionFilter.logger);
    return new SssError(frame.code, frame.message, frame.details);
  }
}
