/**
 * A publish whose data cannot be encoded as JSON (a BigInt, a cycle, a value too deep): rejected
 * before anything is stored or sent. Clients of a handler that lets it escape get INTERNAL_ERROR.
 */
export class MessageNotEncodableError extends Error {
  constructor(channel: string, cause: unknown) {
    super(`The message for channel "${channel}" cannot be encoded as JSON: ${(cause as Error)?.message ?? cause}`);
    this.name = 'MessageNotEncodableError';
    this.cause = cause;
  }
}
