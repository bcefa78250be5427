/**
 * An error with a stable code that reaches the client unchanged as `{ code, message, details }`.
 * Throw it from handlers, guards or pipes when the client should branch on the code.
 *
 * @example
 * ```ts
 * throw new SssError('ROOM_FULL', 'This room is full.');
 * ```
 */
export class SssError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'SssError';
  }
}
