import { SetMetadata } from '@nestjs/common';
import { SSS_ASK_METADATA } from '../sss.constants.js';

/**
 * Answers `client.ask(topic, data)`. The return value (a value, a Promise or an Observable's last
 * value) is the response; a thrown exception becomes an error response.
 *
 * @example
 * ```ts
 * @OnAsk('serverTime') time() { return Date.now(); }
 * ```
 */
export const OnAsk = (topic: string): MethodDecorator => SetMetadata(SSS_ASK_METADATA, topic);
