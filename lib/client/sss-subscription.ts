import type {
  ChannelPosition,
  MessageFrame,
  PresenceFrame,
  PresenceMember,
  SkipFrame,
  SubscribedFrame,
} from '../protocol/frames.js';
import type {
  SssMessageMeta,
  SssPresenceChange,
  SssSubscriptionClosedEvent,
  SssSubscriptionEvents,
} from './sss-client-events.interface.js';
import { SssClientError, SssClientErrorCode } from './sss-client.error.js';
import { TypedEventEmitter, type Listener } from './typed-event-emitter.js';

/** What a subscription needs from its client. */
export interface SssSubscriptionHost {
  /** Ends the subscription on the server. */
  unsubscribe(subscription: SssSubscription): Promise<void>;
  /** Reports an error that belongs to no request (a sequence gap, a throwing listener). */
  reportError(error: SssClientError): void;
  /** A sequence gap: subscribe again from `position` (the subscription drops frames meanwhile). */
  resync(subscription: SssSubscription): void;
  /** Asks the server who is on the subscription's channel. */
  presence(subscription: SssSubscription, timeout: number | undefined): Promise<PresenceMember[]>;
}

type TopicEvents = Record<string, [data: unknown, meta: SssMessageMeta]>;
type AnyEvents = { message: [topic: string, data: unknown, meta: SssMessageMeta] };

/**
 * A live subscription to one channel, created by `SssClient.subscribe`. Delivers each channel
 * message once and in order, and follows the client across reconnects.
 * `T` is the type of `data`, what the server's `@Channel` handler returned.
 */
export class SssSubscription<T = unknown> {
  /** The channel name. */
  readonly channel: string;
  /** The query sent with the subscription, sent again on every re-subscription. */
  readonly query: unknown;

  private currentData: T;
  // The position as two fields, so that a delivery allocates nothing for it.
  private epoch: string;
  private seq: number;
  private isClosed = false;
  /** True from a re-subscription request until its `subbed`: frames of the channel are dropped meanwhile. */
  private awaitingSubscribed = false;
  /** Messages received before the application could attach listeners (see `holdUntilNextTask`). */
  private held: MessageFrame[] | undefined;
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly topicListeners: TypedEventEmitter<TopicEvents>;
  private readonly anyListeners: TypedEventEmitter<AnyEvents>;
  private readonly lifecycleListeners: TypedEventEmitter<SssSubscriptionEvents>;

  /** @internal Created by `SssClient`; applications get subscriptions from `subscribe`. */
  constructor(
    private readonly host: SssSubscriptionHost,
    subscribed: SubscribedFrame,
    query: unknown,
  ) {
    this.channel = subscribed.channel;
    this.query = query;
    this.currentData = subscribed.data as T;
    this.epoch = subscribed.epoch;
    this.seq = subscribed.seq;
    const report = (what: string) => (error: unknown) =>
      host.reportError(
        new SssClientError(
          SssClientErrorCode.ListenerError,
          `A ${what} listener of channel "${this.channel}" threw`,
          undefined,
          {
            cause: error,
          },
        ),
      );
    this.topicListeners = new TypedEventEmitter<TopicEvents>(report('message'));
    this.anyListeners = new TypedEventEmitter<AnyEvents>(report('message'));
    this.lifecycleListeners = new TypedEventEmitter<SssSubscriptionEvents>(report('lifecycle'));
  }

  /** What the server's `@Channel` handler returned on the latest (re-)subscription. */
  get data(): T {
    return this.currentData;
  }

  /** The position of the last message delivered (or the subscription point before any). */
  get position(): ChannelPosition {
    return { epoch: this.epoch, seq: this.seq };
  }

  /** Whether the subscription has ended; a closed subscription receives nothing more. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Listens to messages with one topic; returns a function that removes the listener. */
  on<D = unknown>(topic: string, listener: (data: D, meta: SssMessageMeta) => void): () => void {
    return this.topicListeners.on(topic, listener as Listener<TopicEvents[string]>);
  }

  /** Listens to every message, whatever its topic; returns a function that removes the listener. */
  onAny(listener: (topic: string, data: unknown, meta: SssMessageMeta) => void): () => void {
    return this.anyListeners.on('message', listener);
  }

  /**
   * Who is on the channel, across every server instance: each user once, with its number of
   * connections and the `info` the server exposes. Only for channels the server declared with
   * `@Channel(pattern, { presence: true })` (else `PRESENCE_OFF`); users without an id are not
   * counted. Rejects like `SssClient.ask`.
   */
  presence(options: { timeout?: number } = {}): Promise<PresenceMember[]> {
    if (this.isClosed) {
      return Promise.reject(
        new SssClientError(SssClientErrorCode.Closed, `The subscription to "${this.channel}" is closed`),
      );
    }
    return this.host.presence(this, options.timeout);
  }

  /**
   * Listens to `resubscribed`, `closed`, or the presence events `join` and `leave`; returns a
   * function that removes the listener.
   */
  onEvent<E extends keyof SssSubscriptionEvents>(event: E, listener: Listener<SssSubscriptionEvents[E]>): () => void {
    return this.lifecycleListeners.on(event, listener);
  }

  /** Ends the subscription: listeners stop at once, then the server acknowledges the `unsub`. */
  unsubscribe(): Promise<void> {
    return this.host.unsubscribe(this);
  }

  /**
   * @internal Buffers deliveries until the next macrotask: `ws` may emit the frames following
   * `subbed` synchronously, before the caller of `subscribe` resumes and attaches its listeners.
   */
  holdUntilNextTask(): void {
    this.held = [];
    this.releaseTimer = setTimeout(() => this.release(), 0);
  }

  /**
   * @internal Accepts a `msg` frame of this channel: drops duplicates, delivers in order. A `skip`
   * frame (a message this socket published itself) only moves the position. A gap (a seq beyond the
   * next one, or another epoch without a re-subscription) is reported as `SEQUENCE_GAP` and
   * re-subscribes from the last good position; frames are dropped until the server's answer.
   */
  receive(frame: MessageFrame | SkipFrame): void {
    if (this.isClosed || this.awaitingSubscribed) return;
    if (frame.epoch !== this.epoch) {
      this.resyncAfterGap(`Channel "${this.channel}" changed epoch without a re-subscription`, frame);
      return;
    }
    if (frame.seq !== this.seq + 1) {
      if (frame.seq > this.seq)
        this.resyncAfterGap(`Channel "${this.channel}" skipped from seq ${this.seq} to ${frame.seq}`, frame);
      return;
    }
    this.seq = frame.seq;
    if (frame.t === 'skip') return;
    if (this.held) this.held.push(frame);
    else this.deliver(frame);
  }

  /** @internal A presence event of this channel. */
  presenceChanged(frame: PresenceFrame): void {
    if (this.isClosed) return;
    const change: SssPresenceChange = { userId: frame.userId };
    if (frame.info !== undefined) change.info = frame.info;
    this.lifecycleListeners.emit(frame.kind, change);
  }

  /** @internal A re-subscription was sent: drop the channel's frames until its `subbed`. */
  awaitResubscription(): void {
    this.awaitingSubscribed = true;
  }

  /** @internal Applies the `subbed` answer to a re-subscription (after a reconnect or a gap). */
  resubscribed(frame: SubscribedFrame): void {
    if (this.isClosed) return;
    this.awaitingSubscribed = false;
    const recovered = frame.recovered === true;
    this.currentData = frame.data as T;
    // When recovered, the missed messages follow and move the position themselves.
    if (!recovered || frame.epoch !== this.epoch) {
      this.epoch = frame.epoch;
      this.seq = frame.seq;
    }
    this.lifecycleListeners.emit('resubscribed', recovered ? { recovered } : { recovered, reason: frame.reason });
  }

  /** @internal Ends the subscription once: delivers held messages, emits `closed`, drops listeners. */
  end(event: SssSubscriptionClosedEvent): void {
    if (this.isClosed) return;
    this.release();
    this.isClosed = true;
    this.lifecycleListeners.emit('closed', event);
    this.topicListeners.removeAllListeners();
    this.anyListeners.removeAllListeners();
    this.lifecycleListeners.removeAllListeners();
  }

  private release(): void {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    const held = this.held;
    this.held = undefined;
    for (const frame of held ?? []) this.deliver(frame);
  }

  private deliver(frame: MessageFrame): void {
    const meta: SssMessageMeta = { channel: this.channel, topic: frame.topic, seq: frame.seq, epoch: frame.epoch };
    this.topicListeners.emit(frame.topic, frame.data, meta);
    this.anyListeners.emit('message', frame.topic, frame.data, meta);
  }

  private resyncAfterGap(message: string, frame: MessageFrame | SkipFrame): void {
    this.host.reportError(
      new SssClientError(SssClientErrorCode.SequenceGap, message, {
        channel: this.channel,
        expected: { epoch: this.epoch, seq: this.seq + 1 },
        received: { epoch: frame.epoch, seq: frame.seq },
      }),
    );
    // An error listener may have unsubscribed.
    if (!this.isClosed) this.host.resync(this);
  }
}
