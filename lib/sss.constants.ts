/** Metadata key of `@SssGateway()`. */
export const SSS_GATEWAY_METADATA = 'sss:gateway';
/** Metadata key of `@OnAsk()`. */
export const SSS_ASK_METADATA = 'sss:ask';
/** Metadata key of `@OnTell()`. */
export const SSS_TELL_METADATA = 'sss:tell';
/** Metadata key of `@Channel()`. */
export const SSS_CHANNEL_METADATA = 'sss:channel';
/** Metadata key of `@Channel()`'s options. */
export const SSS_CHANNEL_OPTIONS_METADATA = 'sss:channel-options';

/** The context type handlers see in `host.getType()`. */
export const SSS_CONTEXT_TYPE = 'sss';

/** Injection token of the active scaler. */
export const SSS_SCALER = Symbol('SSS_SCALER');

/** Injection token of the module options with their defaults filled in. */
export const SSS_RESOLVED_OPTIONS = Symbol('SSS_RESOLVED_OPTIONS');
