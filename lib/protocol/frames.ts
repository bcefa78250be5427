/**
 * The wire protocol shared by the server and the client. Pure types and constants: nothing here
 * imports Nest or Node, so the browser client can use it. PROTOCOL.md is the prose version.
 *
 * Every frame is one JSON object in one WebSocket text message; `t` says what it is.
 */

/** The protocol version this code speaks; the client sends it as `?v=` on the URL. */
export const PROTOCOL_VERSION = 1;

/**
 * The deepest nesting of arrays and objects a client frame may have, the frame object itself
 * counting as level 1: `{"t":"ask","data":[[1]]}` is 3 deep. Deeper frames get `BAD_FRAME`.
 */
export const MAX_FRAME_DEPTH = 64;

/** A channel's position: the last sequence number in an epoch. Epochs change when history is lost. */
export interface ChannelPosition {
  /** Identifies one unbroken history of the channel. */
  epoch: string;
  /** The last sequence number in that history; 0 before the first message. */
  seq: number;
}

/** Client → server: a request that expects a response (`res` or `err`). */
export interface AskFrame {
  t: 'ask';
  id: number;
  topic: string;
  data?: unknown;
}

/** Client → server: a one-way message; the server answers `ack` once its handler finished without error. */
export interface TellFrame {
  t: 'tell';
  id: number;
  topic: string;
  data?: unknown;
}

/** Client → server: subscribe to a channel, optionally recovering from a known position. */
export interface SubscribeFrame {
  t: 'sub';
  id: number;
  channel: string;
  query?: unknown;
  since?: ChannelPosition;
}

/** Client → server: end a subscription; answered with `ack`. */
export interface UnsubscribeFrame {
  t: 'unsub';
  id: number;
  channel: string;
}

/**
 * Client → server: who is on a presence-tracked channel the socket is subscribed to; answered with
 * `res` whose `data` is a `PresenceMember[]`.
 */
export interface PresenceRequestFrame {
  t: 'presence';
  id: number;
  channel: string;
}

/** One user on a channel, counted once however many connections it has there. */
export interface PresenceMember {
  userId: string;
  /** The user's connections on the channel, across every instance. */
  connections: number;
  /** The fields the server's session guard chose to expose (`handshake.presence`). */
  info?: Record<string, unknown>;
}

/** Client → server: heartbeat; answered with `pong`. */
export interface PingFrame {
  t: 'ping';
}

export type ClientFrame = AskFrame | TellFrame | SubscribeFrame | UnsubscribeFrame | PresenceRequestFrame | PingFrame;

/** Server → client: first frame on every connection. */
export interface HelloFrame {
  t: 'hello';
  v: number;
  socketId: string;
  /** Heartbeat interval in ms: the client pings when it has sent nothing for this long. */
  heartbeat: number;
  userId?: string;
  sessionId?: string;
}

/** Server → client: the answer to an `ask`. */
export interface ResponseFrame {
  t: 'res';
  id: number;
  data?: unknown;
}

/** Server → client: a `tell` or `unsub` was accepted. */
export interface AckFrame {
  t: 'ack';
  id: number;
}

/** Server → client: the answer to a `sub` that was allowed. Messages after `seq` follow. */
export interface SubscribedFrame {
  t: 'subbed';
  id: number;
  channel: string;
  epoch: string;
  /** Delivery continues with `seq + 1`. */
  seq: number;
  /** Present when the `sub` carried `since`: whether every missed message follows. */
  recovered?: boolean;
  /** Why recovery failed (see `RecoveryFailure`). */
  reason?: RecoveryFailure;
  /** What the `@Channel` handler returned, if anything. */
  data?: unknown;
}

/** Server → client: a request failed; without `id` when the frame had no usable id (or was unreadable). */
export interface ErrorFrame {
  t: 'err';
  id?: number;
  code: ErrorCode | string;
  message: string;
  details?: unknown;
}

/** Server → client: a message published on a subscribed channel. */
export interface MessageFrame {
  t: 'msg';
  channel: string;
  topic: string;
  data?: unknown;
  seq: number;
  epoch: string;
}

/**
 * Server → client: the message with this seq exists but is not for this socket (it published it
 * with `socket.publish()`, which skips its sender). Advances the position without delivering.
 */
export interface SkipFrame {
  t: 'skip';
  channel: string;
  seq: number;
  epoch: string;
}

/** Server → client: a one-way message from the server (to this socket, its user, its session, or all). */
export interface ServerTellFrame {
  t: 'tell';
  topic: string;
  data?: unknown;
}

/** Server → client: the server ended a subscription (the channel was booted). */
export interface UnsubscribedFrame {
  t: 'unsubbed';
  channel: string;
  reason: string;
}

/**
 * Server → client: on a presence-tracked channel the socket is subscribed to, a user's first
 * connection joined or its last one left (or its instance died). Unsequenced.
 */
export interface PresenceFrame {
  t: 'presence';
  channel: string;
  kind: 'join' | 'leave';
  userId: string;
  info?: Record<string, unknown>;
}

/** Server → client: heartbeat answer. */
export interface PongFrame {
  t: 'pong';
}

export type ServerFrame =
  | HelloFrame
  | ResponseFrame
  | AckFrame
  | SubscribedFrame
  | ErrorFrame
  | MessageFrame
  | SkipFrame
  | ServerTellFrame
  | UnsubscribedFrame
  | PresenceFrame
  | PongFrame;

/** Why a re-subscription could not deliver every missed message. */
export type RecoveryFailure =
  /** The channel's history was lost (for example a restart of an in-memory scaler). */
  | 'epoch_changed'
  /** The missed messages are older than the retained history. */
  | 'out_of_retention'
  /** The position is ahead of the channel or otherwise impossible. */
  | 'invalid_position';

/** Stable error codes carried by `err` frames. */
export const ErrorCode = {
  /** The frame is not JSON, not an object, or a field is missing or malformed (`id`, `topic`, `since`). */
  BadFrame: 'BAD_FRAME',
  /** `t` is not a frame type this server knows. */
  UnknownType: 'UNKNOWN_TYPE',
  /** No `@OnAsk`/`@OnTell` handler for the topic. */
  UnknownTopic: 'UNKNOWN_TOPIC',
  /** No `@Channel` pattern matches the channel. */
  UnknownChannel: 'UNKNOWN_CHANNEL',
  /** The channel name is empty, too long, has control characters or a reserved prefix. */
  InvalidChannel: 'INVALID_CHANNEL',
  /** The socket already has a subscription to this channel. */
  AlreadySubscribed: 'ALREADY_SUBSCRIBED',
  /** `unsub` or `presence` for a channel the socket is not subscribed to. */
  NotSubscribed: 'NOT_SUBSCRIBED',
  /** `presence` for a channel whose `@Channel` does not track presence. */
  PresenceOff: 'PRESENCE_OFF',
  /** The `sub` was ended by an `unsub` (or a boot) before it was answered. */
  Cancelled: 'CANCELLED',
  /** The socket reached `limits.maxSubscriptionsPerSocket`. */
  TooManySubscriptions: 'TOO_MANY_SUBSCRIPTIONS',
  /** The socket sent more than `limits.messagesPerSecond`. */
  RateLimited: 'RATE_LIMITED',
  /** The handler did not answer within `limits.handlerTimeout`. */
  Timeout: 'TIMEOUT',
  /** An HttpException with status 400 (for example from `ValidationPipe`). */
  BadRequest: 'BAD_REQUEST',
  /** An HttpException with status 401. */
  Unauthorized: 'UNAUTHORIZED',
  /** A guard said no, or an HttpException with status 403. */
  Forbidden: 'FORBIDDEN',
  /** An HttpException with status 404. */
  NotFound: 'NOT_FOUND',
  /** A `WsException` without a code of its own. */
  WsError: 'WS_ERROR',
  /** A publish could not be stored (the history store is down), or an HttpException with status 503. */
  Unavailable: 'UNAVAILABLE',
  /** Anything else; the server logs the cause and never sends stack traces. */
  Internal: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes used by the server. */
export const CloseCode = {
  /** The client closed normally. */
  Normal: 1000,
  /** The server is shutting down: reconnect (to another instance) at once. */
  GoingAway: 1001,
  /** A WebSocket protocol violation (for example an unmasked or malformed frame); sent by the ws library. */
  ProtocolError: 1002,
  /** A text frame that is not valid UTF-8; sent by the ws library. */
  InvalidPayload: 1007,
  /** The socket kept sending while over its `limits.messagesPerSecond` budget (see PROTOCOL.md, Limits). */
  PolicyViolation: 1008,
  /** A frame was larger than `limits.maxFrameBytes`. */
  TooBig: 1009,
  /** The server booted this socket (reason in the close frame); do not reconnect. */
  Booted: 4001,
  /** The client asked for a protocol version this server does not speak; do not reconnect. */
  UnsupportedVersion: 4002,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Channel names starting with this are reserved for the server (user, session and broadcast). */
export const RESERVED_CHANNEL_PREFIX = '$';
