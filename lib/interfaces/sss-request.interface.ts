import type { ChannelPosition } from '../protocol/frames.js';
import type { SssHandshake } from './sss-handshake.interface.js';

/** An ask or tell being handled. */
export interface SssMessageRequest {
  kind: 'ask' | 'tell';
  topic: string;
}

/** A subscription being authorized (guards) and opened (the `@Channel` handler). */
export interface SssChannelRequest {
  kind: 'channel';
  /** The channel's full name, e.g. `room/42`. */
  channel: string;
  /** The `@Channel` pattern it matched, e.g. `room/:id`. */
  pattern: string;
  /** The pattern's parameters, e.g. `{ id: '42' }`. */
  params: Record<string, string>;
  /** What the client passed to `subscribe(channel, query)`. */
  query: unknown;
  /** Where a re-subscription recovers from; absent on a first subscription. */
  since?: ChannelPosition;
  /**
   * True when the guards re-check a live subscription after the client refreshed its credential:
   * only the guards run (not the `@Channel` handler); a refusal ends the subscription.
   */
  recheck?: boolean;
}

/** An HTTP upgrade being checked by the session guards. */
export interface SssUpgradeRequest {
  kind: 'upgrade';
  handshake: SssHandshake;
}

/** What an `SssExecutionContext` describes. */
export type SssRequest = SssMessageRequest | SssChannelRequest | SssUpgradeRequest;
