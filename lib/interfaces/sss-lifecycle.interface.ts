import type { SssSocket } from '../server/sss-socket.js';

/** Information about a closed connection. */
export interface SssDisconnectInfo {
  /** The WebSocket close code (1006 when the connection was lost without one). */
  code: number;
  reason: string;
}

/** Called on a gateway when a socket connected to this instance. */
export interface OnSssConnect {
  onSssConnect(socket: SssSocket): void | Promise<void>;
}

/** Called on a gateway when a socket of this instance disconnected. */
export interface OnSssDisconnect {
  onSssDisconnect(socket: SssSocket, info: SssDisconnectInfo): void | Promise<void>;
}

/** Called on a gateway when a socket of this instance subscribed to a channel. */
export interface OnSssSubscribe {
  onSssSubscribe(socket: SssSocket, channel: string): void | Promise<void>;
}

/** Called on a gateway when a socket of this instance left a channel (or disconnected). */
export interface OnSssUnsubscribe {
  onSssUnsubscribe(socket: SssSocket, channel: string): void | Promise<void>;
}

/** Called on a gateway when this instance got its first subscriber of a channel. */
export interface OnSssChannelOpen {
  onSssChannelOpen(channel: string): void | Promise<void>;
}

/** Called on a gateway when this instance lost its last subscriber of a channel. */
export interface OnSssChannelClose {
  onSssChannelClose(channel: string): void | Promise<void>;
}
