import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import { SSS_GATEWAY_METADATA } from '../sss.constants.js';

/**
 * Marks a provider whose `@OnAsk`, `@OnTell` and `@Channel` methods serve sockets. List the class in
 * a module's `providers` like any other provider.
 *
 * @example
 * ```ts
 * @SssGateway()
 * export class ChatGateway {
 *   @OnAsk('serverTime') time() { return Date.now(); }
 * }
 * ```
 */
export function SssGateway(): ClassDecorator {
  return applyDecorators(Injectable(), SetMetadata(SSS_GATEWAY_METADATA, true));
}
