import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ErrorCode,
  type ChannelPosition,
  type PresenceFrame,
  type SkipFrame,
  type SubscribedFrame,
} from '../protocol/frames.js';
import type { PresenceEvent, Scaler, ScalerMessage } from '../scaler/scaler.interface.js';
import { LifecycleDispatcher } from '../lifecycle/lifecycle.dispatcher.js';
import { SharedFrame } from '../server/frame.encoder.js';
import type { SssSocket } from '../server/sss-socket.js';
import { SSS_SCALER } from '../sss.constants.js';
import { SssMessages } from '../sss.messages.js';
import { ChannelSubscription } from './channel-subscription.js';

/**
 * Live messages a subscription may hold while its history is read. Past it, the socket is dropped
 * as a slow consumer and recovers when it reconnects.
 */
const MAX_BACKLOG = 10_000;

/** The subscribers of one channel on this instance. */
interface LocalChannel {
  readonly subscribers: Map<SssSocket, ChannelSubscription>;
  /** Settles once the scaler delivers this channel's messages to this instance. */
  readonly interest: Promise<void>;
}

/**
 * Where channel messages meet sockets on one instance. It holds one scaler subscription per
 * channel (not per socket), builds each message frame once and writes it to every local
 * subscriber, and brings re-subscribing sockets up to date before they get live messages.
 */
@Injectable()
export class ChannelHub {
  private readonly logger = new Logger('SssChannelHub');
  private readonly channels = new Map<string, LocalChannel>();
  /** Presence reads in flight, by channel, with when they started (`performance.now()`). */
  private readonly memberReads = new Map<string, { startedAt: number; result: Promise<string> }>();

  constructor(
    @Inject(SSS_SCALER) private readonly scaler: Scaler,
    private readonly lifecycle: LifecycleDispatcher,
  ) {}

  /**
   * Adds an authorized subscription: replies `subbed`, then the missed messages when `since` is
   * given, then live messages, each exactly once and in order.
   */
  async attach(
    subscription: ChannelSubscription,
    requestId: number,
    since: ChannelPosition | undefined,
    data: unknown,
  ): Promise<void> {
    const { socket, channel: name } = subscription;
    const channel = this.channelFor(name);
    channel.subscribers.set(socket, subscription);
    await channel.interest;
    if (subscription.presence && socket.userId !== undefined && this.isCurrent(subscription)) {
      // Entered before `subbed`, so that the subscriber's own presence() counts it. Set first: a
      // detach from now on leaves, and the scaler keeps the join before the leave.
      subscription.inPresence = true;
      await this.scaler.presence.join(name, {
        connectionId: socket.id,
        userId: socket.userId,
        info: socket.presenceInfo,
      });
    }
    // Read the position only now that live messages are flowing into the backlog: anything not in
    // the history read below is then in the backlog, so nothing falls between the two.
    const reply: SubscribedFrame = { t: 'subbed', id: requestId, channel: name, epoch: '', seq: 0 };
    if (data !== undefined) reply.data = data;
    let missed: ScalerMessage[] = [];
    if (since) {
      const history = await this.scaler.historySince(name, since);
      if (history.recovered) {
        reply.epoch = history.epoch;
        reply.seq = since.seq;
        reply.recovered = true;
        missed = history.messages;
      } else {
        reply.epoch = history.position.epoch;
        reply.seq = history.position.seq;
        reply.recovered = false;
        reply.reason = history.reason;
      }
    } else {
      const position = await this.scaler.position(name);
      reply.epoch = position.epoch;
      reply.seq = position.seq;
    }
    if (!this.isCurrent(subscription)) {
      // An `unsub` or a boot ended it meanwhile; the `sub` still gets an answer.
      if (socket.isOpen) {
        socket.send({
          t: 'err',
          id: requestId,
          code: ErrorCode.Cancelled,
          message: SssMessages.subscriptionCancelled(name),
        });
      }
      return;
    }
    socket.send(reply);
    subscription.answeredAt = performance.now();
    subscription.epoch = reply.epoch;
    subscription.lastSeq = reply.seq;
    for (const message of missed) {
      if (message.seq <= subscription.lastSeq) continue;
      subscription.lastSeq = message.seq;
      // Recovery hands back the sender's own messages too: it never had them.
      socket.sendRaw(message.placeholder ? serializeSkip(message) : serializeMessage(message));
    }
    const backlog = subscription.backlog ?? [];
    subscription.backlog = null;
    for (const entry of backlog) this.deliver(subscription, entry.message, entry.frame);
    this.lifecycle.subscribed(socket, name);
  }

  /** Removes a subscription (unsubscribe, disconnect or boot). */
  detach(subscription: ChannelSubscription): void {
    const { socket, channel: name } = subscription;
    if (socket.subscriptions.get(name) === subscription) socket.subscriptions.delete(name);
    if (subscription.inPresence) {
      subscription.inPresence = false;
      this.scaler.presence
        .leave(name, socket.id)
        .catch((error: unknown) => this.logger.error(`presence leave ${name}`, error));
    }
    const channel = this.channels.get(name);
    if (!channel || channel.subscribers.get(socket) !== subscription) return;
    channel.subscribers.delete(socket);
    if (subscription.backlog === null) this.lifecycle.unsubscribed(socket, name);
    if (channel.subscribers.size > 0) return;
    this.channels.delete(name);
    this.scaler.unsubscribe(name).catch((error: unknown) => this.logger.error(`unsubscribe ${name}`, error));
    this.lifecycle.channelClosed(name);
  }

  /** Ends every local subscription to a channel, telling each client why. */
  bootChannel(name: string, reason: string): void {
    const channel = this.channels.get(name);
    if (!channel) return;
    const frame = new SharedFrame(JSON.stringify({ t: 'unsubbed', channel: name, reason }));
    for (const subscription of [...channel.subscribers.values()]) {
      this.detach(subscription);
      subscription.socket.sendShared(frame);
    }
  }

  /** How many channels this instance holds a scaler subscription for. */
  get channelCount(): number {
    return this.channels.size;
  }

  onMessage(message: ScalerMessage): void {
    const channel = this.channels.get(message.channel);
    if (!channel) return;
    // Serialized and encoded once, then written as is to every subscriber.
    const frame = new SharedFrame(message.placeholder ? serializeSkip(message) : serializeMessage(message));
    for (const subscription of channel.subscribers.values()) {
      this.deliver(subscription, message, frame);
    }
  }

  /**
   * Sends a join or leave to the local subscribers of a presence-tracked channel that are caught up
   * (a subscription still being answered reads presence() after its `subbed`, if it wants it). A
   * subscriber never gets events about its own user: its own join may reach it before or after
   * its `subbed` depending on the scaler, and its user cannot leave while it is there.
   */
  onPresence(event: PresenceEvent): void {
    const channel = this.channels.get(event.channel);
    if (!channel) return;
    let frame: SharedFrame | undefined;
    for (const subscription of channel.subscribers.values()) {
      if (!subscription.presence || subscription.backlog !== null) continue;
      if (subscription.socket.userId === event.userId) continue;
      frame ??= new SharedFrame(serializePresence(event));
      subscription.socket.sendShared(frame);
    }
  }

  /**
   * The members of a presence-tracked channel as JSON, for a subscriber of it. Subscribers asking
   * while a read of the channel is in flight share it (a crowd asking at once costs one read), if
   * the read started after their own join: each still sees itself.
   */
  membersJson(subscription: ChannelSubscription): Promise<string> {
    const { channel } = subscription;
    const shared = this.memberReads.get(channel);
    if (shared && shared.startedAt >= subscription.answeredAt) return shared.result;
    const { presence } = this.scaler;
    const read = {
      startedAt: performance.now(),
      result: (presence.membersJson
        ? presence.membersJson(channel)
        : presence.members(channel).then((members) => JSON.stringify(members))
      ).finally(() => {
        if (this.memberReads.get(channel) === read) this.memberReads.delete(channel);
      }),
    };
    this.memberReads.set(channel, read);
    return read.result;
  }

  private deliver(subscription: ChannelSubscription, message: ScalerMessage, frame: SharedFrame): void {
    if (subscription.backlog) {
      if (subscription.backlog.length >= MAX_BACKLOG) {
        // Catching up takes too long for this socket: drop it as a slow consumer (bounded memory);
        // it reconnects and recovers from its position.
        subscription.socket.terminate();
        return;
      }
      subscription.backlog.push({ message, frame });
      return;
    }
    const { seq, epoch } = message;
    if (epoch !== subscription.epoch) return this.endForEpochChange(subscription);
    if (seq <= subscription.lastSeq) return;
    subscription.lastSeq = seq;
    if (message.placeholder || subscription.socket.id !== message.exceptSocketId) {
      return subscription.socket.sendShared(frame);
    }
    // The sender still learns the seq, so that its position (and a later recovery) stays exact.
    const skip: SkipFrame = { t: 'skip', channel: subscription.channel, seq, epoch };
    subscription.socket.send(skip);
  }

  // The history this subscription followed is gone; the client must subscribe again and reload.
  private endForEpochChange(subscription: ChannelSubscription): void {
    this.detach(subscription);
    subscription.socket.send({ t: 'unsubbed', channel: subscription.channel, reason: SssMessages.epochChanged });
  }

  private channelFor(name: string): LocalChannel {
    let channel = this.channels.get(name);
    if (!channel) {
      const subscribers = new Map<SssSocket, ChannelSubscription>();
      // A failed scaler subscription forgets the channel, so that the next subscriber tries again.
      const interest = this.scaler.subscribe(name).catch((error: unknown) => {
        if (this.channels.get(name)?.subscribers === subscribers) this.channels.delete(name);
        throw error;
      });
      channel = { subscribers, interest };
      this.channels.set(name, channel);
      this.lifecycle.channelOpened(name);
    }
    return channel;
  }

  private isCurrent(subscription: ChannelSubscription): boolean {
    return (
      subscription.socket.isOpen &&
      subscription.socket.subscriptions.get(subscription.channel) === subscription &&
      this.channels.get(subscription.channel)?.subscribers.get(subscription.socket) === subscription
    );
  }
}

/** A seq that holds nothing for the subscriber (a placeholder): it only moves the position. */
function serializeSkip(message: ScalerMessage): string {
  const skip: SkipFrame = { t: 'skip', channel: message.channel, seq: message.seq, epoch: message.epoch };
  return JSON.stringify(skip);
}

function serializePresence(event: PresenceEvent): string {
  const frame: PresenceFrame = { t: 'presence', channel: event.channel, kind: event.kind, userId: event.userId };
  if (event.info !== undefined) frame.info = event.info;
  return JSON.stringify(frame);
}

function serializeMessage(message: ScalerMessage): string {
  return JSON.stringify({
    t: 'msg',
    channel: message.channel,
    topic: message.topic,
    data: message.data,
    seq: message.seq,
    epoch: message.epoch,
  });
}
