import { applyDecorators, SetMetadata } from '@nestjs/common';
import type { SssChannelOptions } from '../interfaces/sss-channel-options.interface.js';
import { SSS_CHANNEL_METADATA, SSS_CHANNEL_OPTIONS_METADATA } from '../sss.constants.js';

/**
 * Lets clients subscribe to the channels matching `pattern` (`'sport'`, `'room/:id'`). The guards on
 * the method are the subscription parser: they run for every subscription, and again for every
 * re-subscription after a reconnect. The method runs once the guards allowed it; what it returns is
 * sent to the client as the subscription's `data`, and an exception refuses the subscription.
 * Only channels that match a `@Channel` pattern can be subscribed to.
 *
 * With `{ presence: true }`, the subscribers of matching channels that have a user id are tracked
 * across instances: `SssPublisher.presence(channel)`, the client's `subscription.presence()`, and
 * join/leave events for the channel's subscribers.
 *
 * @example
 * ```ts
 * @Channel('room/:id', { presence: true }) @UseGuards(RoomPasswordGuard)
 * joined(@ChannelParams('id') id: string) { return { welcome: id }; }
 * ```
 */
export const Channel = (pattern: string, options: SssChannelOptions = {}): MethodDecorator =>
  applyDecorators(SetMetadata(SSS_CHANNEL_METADATA, pattern), SetMetadata(SSS_CHANNEL_OPTIONS_METADATA, options));
