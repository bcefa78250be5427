import { SetMetadata } from '@nestjs/common';
import { SSS_TELL_METADATA } from '../sss.constants.js';

/**
 * Receives `client.tell(topic, data)`. The client's promise resolves once the handler returned
 * (or its Promise resolved) without an exception.
 *
 * @example
 * ```ts
 * @OnTell('likedMsg') liked(@Payload() like: LikeDto) { ... }
 * ```
 */
export const OnTell = (topic: string): MethodDecorator => SetMetadata(SSS_TELL_METADATA, topic);
