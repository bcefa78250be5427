import { SssClient, type ChannelPosition, type SssClientError } from '../../lib/client/index.js';
import type { SoakTimeline } from './soak-timeline.js';

/** The payload every soak publish carries: `<publisher>-<counter>`, unique over the run. */
export interface SoakPayload {
  id: string;
}

/** What one subscription saw, in arrival order. */
export type SubscriptionEvent =
  | { type: 'msg'; at: number; id: string; seq: number; epoch: string }
  | {
      type: 'resubscribed';
      at: number;
      recovered: boolean;
      reason?: string;
      /** The last position delivered before the re-subscription. */
      before: ChannelPosition;
      /** The subscription's position once the server answered. */
      after: ChannelPosition;
    };

export interface SubscriptionRecord {
  client: number;
  channel: string;
  subscribedAt: number;
  /** The subscription point: messages after it are expected. */
  start: ChannelPosition;
  events: SubscriptionEvent[];
  /** Set when the subscription ended (it then receives nothing more). */
  closed?: { at: number; reason: string; error?: string };
  /** SEQUENCE_GAP error events the client raised for this channel. */
  sequenceGapErrors: number;
}

export interface ClientRecord {
  index: number;
  drops: { at: number; code: number }[];
  /** Drop-to-next-delivery times, one per drop that was followed by a delivery. */
  recoveries: { droppedAt: number; deliveredAt: number }[];
  /** Drops not followed by any delivery (yet). */
  pendingDrops: number[];
  reconnects: { at: number; recovered: boolean; failures: string[] }[];
  otherErrors: string[];
  /** The client's status when the soak stopped it. */
  statusAtEnd?: string;
  /** Whether re-subscriptions after its last drop were still unanswered when the soak stopped it. */
  resubscribingAtEnd?: boolean;
}

/** One publish attempt as the publisher saw it. */
export interface PublishRecord {
  id: string;
  channel: string;
  /** The instance the publisher's ask went to. */
  instance: string;
  sentAt: number;
  settledAt?: number;
  position?: ChannelPosition;
  error?: string;
}

const CONNECT_CONCURRENCY = 20;

/** Whether the client dropped and the `reconnect` that settles its re-subscriptions has not come since. */
export function isResubscribing(client: ClientRecord): boolean {
  const lastDrop = client.drops.at(-1)?.at;
  const lastReconnect = client.reconnects.at(-1)?.at;
  return lastDrop !== undefined && (lastReconnect === undefined || lastReconnect < lastDrop);
}

/**
 * The soak's subscribers: `count` clients through the balancer, each on `perClient` channels,
 * recording every delivery, lifecycle event and error with the time it happened.
 */
export class SoakSubscribers {
  readonly clients: ClientRecord[] = [];
  readonly subscriptions: SubscriptionRecord[] = [];
  private readonly sockets: SssClient[] = [];
  /** Set once the soak closes its clients: the `closed` events that follow are the soak's, not the product's. */
  private stopping = false;

  constructor(private readonly timeline: SoakTimeline) {}

  async start(url: string, count: number, channels: string[], perClient: number): Promise<void> {
    const indexes = Array.from({ length: count }, (_, index) => index);
    for (let from = 0; from < count; from += CONNECT_CONCURRENCY) {
      await Promise.all(
        indexes.slice(from, from + CONNECT_CONCURRENCY).map((index) =>
          this.startClient(
            url,
            index,
            Array.from({ length: perClient }, (_, offset) => channels[(index * perClient + offset) % channels.length]),
          ),
        ),
      );
    }
  }

  /** Clients whose re-subscriptions after their last drop have not all been answered yet. */
  resubscribing(): Set<number> {
    return new Set(this.clients.filter(isResubscribing).map((client) => client.index));
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      const resubscribing = this.resubscribing();
      this.sockets.forEach((socket, index) => {
        this.clients[index].statusAtEnd = socket.status;
        this.clients[index].resubscribingAtEnd = resubscribing.has(index);
      });
    }
    this.stopping = true;
    await Promise.all(this.sockets.map((socket) => socket.close()));
  }

  private async startClient(url: string, index: number, channels: string[]): Promise<void> {
    const client = new SssClient(url);
    this.sockets.push(client);
    const record: ClientRecord = {
      index,
      drops: [],
      recoveries: [],
      pendingDrops: [],
      reconnects: [],
      otherErrors: [],
    };
    this.clients.push(record);
    const byChannel = new Map<string, SubscriptionRecord>();
    client.on('drop', ({ code }) => {
      const at = this.timeline.now();
      record.drops.push({ at, code });
      record.pendingDrops.push(at);
    });
    client.on('reconnect', (event) =>
      record.reconnects.push({
        at: this.timeline.now(),
        recovered: event.recovered,
        failures: event.subscriptions
          .filter((result) => !result.recovered)
          .map((result) => `${result.channel}: ${result.error?.code ?? result.reason ?? 'not recovered'}`),
      }),
    );
    client.on('error', (error: SssClientError) => {
      if (error.code === 'SEQUENCE_GAP') {
        const channel = (error.details as { channel?: string } | undefined)?.channel;
        const subscription = channel === undefined ? undefined : byChannel.get(channel);
        if (subscription) subscription.sequenceGapErrors += 1;
        else record.otherErrors.push(`${error.code}: ${error.message}`);
      } else {
        record.otherErrors.push(
          `${error.code}${error.status === undefined ? '' : ` ${error.status}`}: ${error.message}`,
        );
      }
    });
    try {
      await client.connect();
      for (const channel of channels) {
        const subscription = await client.subscribe(channel);
        const subscriptionRecord: SubscriptionRecord = {
          client: index,
          channel,
          subscribedAt: this.timeline.now(),
          start: subscription.position,
          events: [],
          sequenceGapErrors: 0,
        };
        byChannel.set(channel, subscriptionRecord);
        this.subscriptions.push(subscriptionRecord);
        let position = subscription.position;
        subscription.on<SoakPayload>('msg', (data, meta) => {
          const at = this.timeline.now();
          subscriptionRecord.events.push({ type: 'msg', at, id: data.id, seq: meta.seq, epoch: meta.epoch });
          position = { epoch: meta.epoch, seq: meta.seq };
          for (const droppedAt of record.pendingDrops) record.recoveries.push({ droppedAt, deliveredAt: at });
          record.pendingDrops.length = 0;
        });
        subscription.onEvent('resubscribed', ({ recovered, reason }) => {
          const after = subscription.position;
          subscriptionRecord.events.push({
            type: 'resubscribed',
            at: this.timeline.now(),
            recovered,
            ...(reason === undefined ? {} : { reason: String(reason) }),
            before: position,
            after,
          });
          if (!recovered || after.epoch !== position.epoch) position = after;
        });
        subscription.onEvent('closed', ({ reason, error }) => {
          if (this.stopping) return;
          subscriptionRecord.closed = {
            at: this.timeline.now(),
            reason,
            ...(error ? { error: `${error.code}: ${error.message}` } : {}),
          };
        });
      }
    } catch (error) {
      throw new Error(`Subscriber ${index} could not connect and subscribe: ${(error as Error).message}`);
    }
  }
}

/**
 * One publisher: an `SssClient` straight to its own instance and, for while that one is down, one
 * straight to the next instance. It publishes at its share of the rate through `@OnAsk('publish')`.
 */
export class SoakPublisher {
  readonly records: PublishRecord[] = [];
  /** Publishes due while neither connection was open, so never sent. */
  notAttempted = 0;
  private counter = 0;
  private readonly inFlight = new Set<Promise<void>>();

  private constructor(
    readonly name: string,
    private readonly routes: { instance: string; client: SssClient }[],
    private readonly channels: string[],
    private readonly timeoutMs: number,
    private readonly timeline: SoakTimeline,
  ) {}

  static async start(
    name: string,
    targets: { instance: string; url: string }[],
    channels: string[],
    timeoutMs: number,
    timeline: SoakTimeline,
  ): Promise<SoakPublisher> {
    const routes = targets.map(({ instance, url }) => ({
      instance,
      // Come back quickly once the instance is back: its downtime is the soak's, not the publisher's.
      client: new SssClient(url, { reconnect: { initialDelay: 100, maxDelay: 1_000 }, askTimeout: timeoutMs }),
    }));
    await Promise.all(routes.map((route) => route.client.connect()));
    return new SoakPublisher(name, routes, channels, timeoutMs, timeline);
  }

  get published(): number {
    return this.counter;
  }

  /** Sends one publish on the next channel (round robin), through the first open connection. */
  publishNext(): void {
    const route = this.routes.find((candidate) => candidate.client.status === 'open');
    if (!route) {
      this.notAttempted += 1;
      return;
    }
    const id = `${this.name}-${this.counter}`;
    const channel = this.channels[this.counter % this.channels.length];
    this.counter += 1;
    const record: PublishRecord = { id, channel, instance: route.instance, sentAt: this.timeline.now() };
    this.records.push(record);
    const settled = route.client
      .ask<ChannelPosition>('publish', { channel, id } satisfies SoakPayload & { channel: string }, {
        timeout: this.timeoutMs,
      })
      .then(
        (position) => {
          record.settledAt = this.timeline.now();
          record.position = { epoch: position.epoch, seq: position.seq };
        },
        (error: SssClientError) => {
          record.settledAt = this.timeline.now();
          record.error = error.code ?? String(error);
        },
      )
      .finally(() => this.inFlight.delete(settled));
    this.inFlight.add(settled);
  }

  /** Resolves when every publish sent so far has an answer or failed. */
  async settle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.routes.map((route) => route.client.close()));
  }
}
