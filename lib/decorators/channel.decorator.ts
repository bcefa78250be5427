import { SetMetadata } from '@nestjs/common';
import { SSS_CHANNEL_METADATA } from '../sss.constants.js';

/**
 * Lets clients subscribe to the channels matching `pattern` (`'sport'`, `'room/:id'`). The guards on
 * the method are the subscription parser: they run for every subscription, and again for every
 * re-subscription after a reconnect. The method runs once the guards allowed it; what it returns is
 * sent to the client as the subscription's `data`, and an exception refuses the subscription.
 * Only channels that match a `@Channel` pattern can be subscribed to.
 *
 * @example
 * ```ts
 * @Channel('room/:id') @UseGuards(RoomPasswordGuard)
 * joined(@ChannelParams('id') id: string) { return { welcome: id }; }
 * ```
 */
export const Channel = (pattern: string): MethodDecorator => SetMetadata(SSS_CHANNEL_METADATA, pattern);
