/** The public API of the Super Scaled Sockets client (browser and Node). */
export { SssClient, type SssRequestOptions } from './sss-client.js';
export { SssSubscription } from './sss-subscription.js';
export { SssClientError, SssClientErrorCode, type SssClientErrorOptions } from './sss-client.error.js';
export type { BackoffOptions, ReconnectOptions } from './reconnect-backoff.js';
export type { ResubscribeOptions } from './resubscriber.js';
export type { Listener } from './typed-event-emitter.js';
export type { SssClientOptions, WebSocketConstructor, WebSocketLike } from './sss-client-options.interface.js';
export type {
  SssBootEvent,
  SssClientEvents,
  SssClientStatus,
  SssDropEvent,
  SssHelloInfo,
  SssMessageMeta,
  SssPresenceChange,
  SssReconnectEvent,
  SssResubscribedEvent,
  SssResubscriptionResult,
  SssSubscriptionClosedEvent,
  SssSubscriptionEvents,
} from './sss-client-events.interface.js';
export type { ChannelPosition, PresenceMember, RecoveryFailure } from '../protocol/frames.js';
