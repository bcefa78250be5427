import { performance } from 'node:perf_hooks';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SssConfigurationError } from '../errors/sss-configuration.error.js';
import type { RecoveryFailure } from '../protocol/frames.js';
import { SssMessages } from '../sss.messages.js';
import type { PromClient } from './prom-client.loader.js';
import type { SssMetricsRegistry } from './sss-metrics-options.interface.js';
import type { GaugeSources, RequestOutcome, SssMetricsRecorder, UpgradeRefusal } from './sss-metrics.recorder.js';

const UPGRADE_REFUSALS: UpgradeRefusal[] = [
  'not_found',
  'draining',
  'origin',
  'address_limit',
  'session_refused',
  'session_error',
  'unsupported_version',
];

const RECOVERY_RESULTS: Array<'recovered' | RecoveryFailure> = [
  'recovered',
  'epoch_changed',
  'out_of_retention',
  'invalid_position',
];

/** Seconds, from 1 ms (a local handler) to 10 s (a stalled store). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The metrics of one `SssModule`, in a prom-client registry. Frames are counted in plain numbers
 * and handed to prom-client when scraped, like the gauges, which are read from their sources then.
 */
export class PrometheusMetricsRecorder implements SssMetricsRecorder {
  readonly enabled = true;
  private readonly registry: Registry;
  private readonly registered: string[] = [];
  private sources?: GaugeSources;
  private framesIn = 0;
  private framesOut = 0;
  private readonly upgradesRefused: Counter<'reason'>;
  private readonly requests: Counter<'kind' | 'topic' | 'outcome'>;
  private readonly requestDuration: Histogram<'kind' | 'topic'>;
  private readonly publishes: Counter<'outcome'>;
  private readonly publishDuration: Histogram;
  private readonly fanOutLag: Histogram;
  private readonly gapFills: Counter;
  private readonly gapFillMessages: Counter;
  private readonly recoveries: Counter<'result'>;
  private readonly slowConsumerDrops: Counter<'where'>;
  private readonly backendErrors: Counter<'backend'>;

  constructor(
    prom: PromClient,
    registry: SssMetricsRegistry | undefined,
    private readonly prefix: string,
  ) {
    this.registry = (registry ?? prom.register) as Registry;
    const registers = [this.registry];
    const currentSources = () => this.sources;
    const gauge = (name: string, help: string, read: (sources: GaugeSources) => number): Gauge =>
      new prom.Gauge({
        name: this.claim(name),
        help,
        registers,
        collect() {
          const sources = currentSources();
          if (sources) this.set(read(sources));
        },
      });
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> =>
      new prom.Counter<L>({ name: this.claim(name), help, labelNames, registers });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[] = []): Histogram<L> =>
      new prom.Histogram<L>({ name: this.claim(name), help, labelNames, buckets: LATENCY_BUCKETS, registers });

    gauge('connections', 'Open WebSocket connections on this instance.', (s) => s.connections());
    gauge('channels', 'Channels with at least one subscriber on this instance.', (s) => s.channels());
    gauge('subscriptions', 'Channel subscriptions held by sockets of this instance.', (s) => s.subscriptions());
    const frameCounter = (name: string, help: string, read: () => number): Counter =>
      new prom.Counter({
        name: this.claim(name),
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    frameCounter('frames_received_total', 'WebSocket messages received from clients.', () => this.framesIn);
    frameCounter(
      'frames_sent_total',
      'Frames written to clients (one per socket for a channel message).',
      () => this.framesOut,
    );
    this.upgradesRefused = counter('upgrades_refused_total', 'HTTP upgrades on the endpoint refused, by reason.', [
      'reason',
    ]);
    this.requests = counter('requests_total', 'Asks and tells, by kind, topic and outcome.', [
      'kind',
      'topic',
      'outcome',
    ]);
    this.requestDuration = histogram('request_duration_seconds', 'Ask and tell handling time, by kind and topic.', [
      'kind',
      'topic',
    ]);
    this.publishes = counter('publishes_total', 'Channel publishes from this instance, by outcome.', ['outcome']);
    this.publishDuration = histogram('publish_duration_seconds', 'Time from publish to stored (or refused).');
    this.fanOutLag = histogram('fanout_lag_seconds', 'Time from publish (any instance) to delivery here.');
    this.gapFills = counter('gap_fills_total', 'Reads of missed channel messages back from the store.');
    this.gapFillMessages = counter('gap_fill_messages_total', 'Messages (and placeholders) gap fills delivered.');
    this.recoveries = counter('recoveries_total', 'Re-subscriptions with a position, by result.', ['result']);
    this.slowConsumerDrops = counter('slow_consumer_drops_total', 'Sockets dropped as slow consumers.', ['where']);
    this.backendErrors = counter('backend_errors_total', 'Failed calls to Redis or the message store.', ['backend']); // Every series with a known label set starts at 0, so that rate() and alerts see the first event.
    for (const reason of UPGRADE_REFUSALS) this.upgradesRefused.inc({ reason }, 0);
    for (const outcome of ['stored', 'failed']) this.publishes.inc({ outcome }, 0);
    for (const result of RECOVERY_RESULTS) this.recoveries.inc({ result }, 0);
    for (const where of ['buffer', 'backlog']) this.slowConsumerDrops.inc({ where }, 0);
    for (const backend of ['redis', 'store']) this.backendErrors.inc({ backend }, 0);
  }

  watch(sources: GaugeSources): void {
    this.sources = sources;
  }

  upgradeRefused(reason: UpgradeRefusal): void {
    this.upgradesRefused.inc({ reason });
  }

  frameIn(): void {
    this.framesIn++;
  }

  frameOut(): void {
    this.framesOut++;
  }

  handled(kind: 'ask' | 'tell', topic: string, outcome: RequestOutcome, startedAt: number): void {
    this.requests.inc({ kind, topic, outcome });
    if (outcome !== 'unknown_topic') {
      this.requestDuration.observe({ kind, topic }, (performance.now() - startedAt) / 1000);
    }
  }

  timePublish<T>(publishing: Promise<T>): Promise<T> {
    const startedAt = performance.now();
    const settled = (outcome: 'stored' | 'failed') => () => {
      this.publishes.inc({ outcome });
      this.publishDuration.observe((performance.now() - startedAt) / 1000);
    };
    // The caller handles the rejection; this branch only observes it.
    publishing.then(settled('stored'), settled('failed'));
    return publishing;
  }

  recovery(result: 'recovered' | RecoveryFailure): void {
    this.recoveries.inc({ result });
  }

  slowConsumerDropped(where: 'buffer' | 'backlog'): void {
    this.slowConsumerDrops.inc({ where });
  }

  delivered(publishedAt: number): void {
    // Clocks of two instances may disagree by a little: a negative lag counts as none.
    this.fanOutLag.observe(Math.max(0, Date.now() - publishedAt) / 1000);
  }

  gapFilled(messages: number): void {
    this.gapFills.inc();
    if (messages > 0) this.gapFillMessages.inc(messages);
  }

  backendError(backend: 'redis' | 'store'): void {
    this.backendErrors.inc({ backend });
  }

  close(): void {
    for (const name of this.registered.splice(0)) this.registry.removeSingleMetric(name);
  }

  /** The full name, refused when the registry holds it already (two modules, one registry). */
  private claim(name: string): string {
    const full = `${this.prefix}${name}`;
    if (this.registry.getSingleMetric(full)) {
      this.close();
      throw new SssConfigurationError(SssMessages.metricAlreadyRegistered(full));
    }
    this.registered.push(full);
    return full;
  }
}
