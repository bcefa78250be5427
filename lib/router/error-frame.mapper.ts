import { HttpException, type Logger } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { SssError } from '../errors/sss.error.js';
import { ErrorCode, type ErrorFrame } from '../protocol/frames.js';
import { SssMessages } from '../sss.messages.js';

const CODE_BY_STATUS: Record<number, string> = {
  400: ErrorCode.BadRequest,
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  408: ErrorCode.Timeout,
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'UNPROCESSABLE_ENTITY',
  429: ErrorCode.RateLimited,
  503: ErrorCode.Unavailable,
};

/**
 * Turns anything a handler threw into an `err` frame: a stable code and a message, never a stack
 * trace. Errors that are not meant for clients are logged and reported as INTERNAL_ERROR.
 */
export function toErrorFrame(id: number | undefined, error: unknown, logger: Logger): ErrorFrame {
  const frame = describe(error, logger);
  if (id !== undefined) frame.id = id;
  return frame;
}

function describe(error: unknown, logger: Logger): ErrorFrame {
  if (error instanceof SssError) return withDetails(error.code, error.message, error.details);
  if (error instanceof WsException) {
    const body = error.getError();
    if (typeof body === 'string') return withDetails(ErrorCode.WsError, body);
    const record = (body ?? {}) as Record<string, unknown>;
    const code = typeof record.code === 'string' ? record.code : ErrorCode.WsError;
    const message = typeof record.message === 'string' ? record.message : error.message;
    return withDetails(code, message, record.details);
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = CODE_BY_STATUS[status] ?? `HTTP_${status}`;
    const body = error.getResponse();
    const bodyMessage = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
    if (Array.isArray(bodyMessage)) return withDetails(code, bodyMessage.join('; '), bodyMessage);
    return withDetails(code, typeof bodyMessage === 'string' ? bodyMessage : error.message);
  }
  logger.error(error instanceof Error ? (error.stack ?? error.message) : `Non-error thrown: ${describeThrown(error)}`);
  return withDetails(ErrorCode.Internal, SssMessages.internal);
}

function withDetails(code: string, message: string, details?: unknown): ErrorFrame {
  const frame: ErrorFrame = { t: 'err', code, message };
  if (details !== undefined) frame.details = details;
  return frame;
}

/** What a handler threw that is not an Error; `String()` itself throws on some objects. */
function describeThrown(value: unknown): string {
  try {
    return String(value).slice(0, 200);
  } catch {
    return typeof value;
  }
}
