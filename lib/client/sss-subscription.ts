import type { ChannelPosition, MessageFrame, SkipFrame, SubscribedFrame } from '../protocol/frames.js';
import type {
  SssMessageMeta,
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
  private currentPosition: ChannelPosition;
  private isClosed = false;
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
    this.currentPosition = { epoch: subscribed.epoch, seq: subscribed.seq };
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
    return { ...this.currentPosition };
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

  /** Listens to `resubscribed` or `closed`; returns a function that removes the listener. */
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
   * @internal Accepts a `msg` frame of this channel: drops duplicates, reports gaps, delivers. A
   * `skip` frame (a message this socket published itself) only moves the position.
   */
  receive(frame: MessageFrame | SkipFrame): void {
    if (this.isClosed) return;
    const { epoch, seq } = this.currentPosition;
    if (frame.epoch === epoch) {
      if (frame.seq <= seq) return;
      if (frame.seq > seq + 1) {
        this.reportGap(`Channel "${this.channel}" skipped from seq ${seq} to ${frame.seq}`, frame);
      }
    } else {
      this.reportGap(`Channel "${this.channel}" changed epoch without a re-subscription`, frame);
    }
    this.currentPosition = { epoch: frame.epoch, seq: frame.seq };
    if (frame.t === 'skip') return;
    if (this.held) this.held.push(frame);
    else this.deliver(frame);
  }

  /** @internal Applies the `subbed` answer to a re-subscription after a reconnect. */
  resubscribed(frame: SubscribedFrame): void {
    if (this.isClosed) return;
    const recovered = frame.recovered === true;
    this.currentData = frame.data as T;
    // When recovered, the missed messages follow and move the position themselves.
    if (!recovered || frame.epoch !== this.currentPosition.epoch) {
      this.currentPosition = { epoch: frame.epoch, seq: frame.seq };
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

  private reportGap(message: string, frame: MessageFrame | SkipFrame): void {
    this.host.reportError(
      new SssClientError(SssClientErrorCode.SequenceGap, message, {
        channel: this.channel,
        expected: { epoch: this.currentPosition.epoch, seq: this.currentPosition.seq + 1 },
        received: { epoch: frame.epoch, seq: frame.seq },
      }),
    );
  }
}
