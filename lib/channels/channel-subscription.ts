import type { ScalerMessage } from '../scaler/scaler.interface.js';
import type { SharedFrame } from '../server/frame.encoder.js';
import type { SssSocket } from '../server/sss-socket.js';

/** A live message waiting for a subscription that is still catching up, with its serialized frame. */
export interface BacklogEntry {
  message: ScalerMessage;
  frame: SharedFrame;
}

/** One socket's subscription to one channel: where it is in the channel's order. */
export class ChannelSubscription {
  /** The epoch the subscription follows. */
  epoch = '';
  /** The last seq delivered (or deliberately skipped) to this socket. */
  lastSeq = 0;
  /** Live messages that arrived while history was being read; `null` once caught up. */
  backlog: BacklogEntry[] | null = [];
  /** Whether the socket was entered into the channel's presence (it is left on detach). */
  inPresence = false;
  /** When the `subbed` was sent (`performance.now()`), after its presence join. */
  answeredAt = 0;

  constructor(
    readonly socket: SssSocket,
    readonly channel: string,
    /** Whether the channel tracks presence (`@Channel(pattern, { presence: true })`). */
    readonly presence = false,
  ) {}
}
