/**
 * Thrown at startup when `SssModule`'s options or gateways cannot work as given; the message names
 * the option or class and says what to change.
 */
export class SssConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SssConfigurationError';
  }
}
