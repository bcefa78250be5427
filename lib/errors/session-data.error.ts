import { ErrorCode } from '../protocol/frames.js';
import { SssError } from './sss.error.js';

/**
 * Session data that cannot be kept as given: no session id, a bad key, a value that is not JSON or
 * too large, too many keys, a bad TTL. Clients of a handler that lets it escape get BAD_REQUEST.
 */
export class SessionDataError extends SssError {
  constructor(message: string) {
    super(ErrorCode.BadRequest, message);
    this.name = 'SessionDataError';
  }
}
