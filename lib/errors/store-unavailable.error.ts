import { ErrorCode } from '../protocol/frames.js';
import { SssError } from './sss.error.js';

/**
 * The history store could not be reached or refused a write. A publish that fails with it was not
 * acknowledged; clients get it as UNAVAILABLE.
 */
export class StoreUnavailableError extends SssError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Unavailable, message);
    this.name = 'StoreUnavailableError';
    if (cause !== undefined) this.cause = cause;
  }
}
