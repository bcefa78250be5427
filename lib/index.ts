export { SssExecutionContext } from './context/sss-execution-context.js';
export { Channel } from './decorators/channel.decorator.js';
export { OnAsk } from './decorators/on-ask.decorator.js';
export { OnTell } from './decorators/on-tell.decorator.js';
export {
  ChannelName,
  ChannelParams,
  ChannelQuery,
  ConnectedSocket,
  Locals,
  Payload,
  SessionId,
  UserId,
  type ParamPipe,
} from './decorators/param.decorators.js';
export { SssGateway } from './decorators/sss-gateway.decorator.js';
export { SssConfigurationError } from './errors/sss-configuration.error.js';
export { SssError } from './errors/sss.error.js';
export { BaseSssExceptionFilter } from './exceptions/base-sss-exception.filter.js';
export type { SssHandshake } from './interfaces/sss-handshake.interface.js';
export type {
  OnSssChannelClose,
  OnSssChannelOpen,
  OnSssConnect,
  OnSssDisconnect,
  OnSssSubscribe,
  OnSssUnsubscribe,
  SssDisconnectInfo,
} from './interfaces/sss-lifecycle.interface.js';
export type {
  SssAllowedOrigins,
  SssGuard,
  SssLimits,
  SssModuleOptions,
  SssRetention,
  SssTrustProxy,
} from './interfaces/sss-module-options.interface.js';
export type {
  SssChannelRequest,
  SssMessageRequest,
  SssRequest,
  SssUpgradeRequest,
} from './interfaces/sss-request.interface.js';
export {
  CloseCode,
  ErrorCode,
  MAX_FRAME_DEPTH,
  PROTOCOL_VERSION,
  type ChannelPosition,
  type PresenceMember,
  type RecoveryFailure,
} from './protocol/frames.js';
export { SssPublisher } from './publisher/sss.publisher.js';
export { MemoryScaler } from './scaler/memory.scaler.js';
export type {
  HistorySince,
  PresenceConnection,
  PresenceEvent,
  Scaler,
  ScalerListener,
  ScalerMessage,
  ScalerPresence,
  ScalerPublishOptions,
  ScalerSessionStore,
  ScalerSignal,
  SignalTarget,
} from './scaler/scaler.interface.js';
export { PresenceBook } from './scaler/presence/presence-book.js';
export { MemorySessionStore } from './scaler/session/memory-session.store.js';
export { SssSession, type SssSessionSetOptions } from './scaler/session/sss-session.js';
export {
  DEFAULT_SESSION_TTL_MS,
  MAX_SESSION_KEYS,
  MAX_SESSION_KEY_LENGTH,
  MAX_SESSION_TTL_MS,
  MAX_SESSION_VALUE_BYTES,
} from './scaler/session/session-data.limits.js';
export { SessionDataError } from './errors/session-data.error.js';
export type { SssChannelOptions } from './interfaces/sss-channel-options.interface.js';
export { SssSocket } from './server/sss-socket.js';
export { SSS_CONTEXT_TYPE, SSS_SCALER } from './sss.constants.js';
export { InjectScaler } from './scaler/inject-scaler.decorator.js';
export { SssModule } from './sss.module.js';
