import type { ChannelPosition } from '../../lib/client/index.js';
import type { DownWindow } from './soak-cluster.js';
import { isResubscribing, type ClientRecord, type PublishRecord, type SubscriptionRecord } from './soak-load.js';
import type { SoakOptions } from './soak-options.js';

/** Percentiles of a list of durations in ms. */
export interface Distribution {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** The counts and timings the soak judges a run by; see RELIABILITY.md for each one's definition. */
export interface SoakFigures {
  publishes: {
    planned: number;
    attempted: number;
    acknowledged: number;
    failed: number;
    failedByCode: Record<string, number>;
    notAttempted: number;
    latencyAll: Distribution;
    latencySurvivorsOutsidePause: Distribution;
    failedOnSurvivorsOutsidePause: number;
    /** The slowest of those: when each was sent (ms on the run's timeline) and how long it took. */
    slowestSurvivors: Array<{ sentAt: number; ms: number }>;
    /** Of those, how many took longer than the p99 limit, by the second (on the run's timeline) they were sent in; the 5 worst seconds. */
    overLimitBySecond: Array<{ second: number; count: number }>;
  };
  deliveries: {
    total: number;
    expected: number;
    lost: number;
    /** Of `lost`, those of clients whose re-subscription was still unanswered at the end. */
    lostOnClientsStillResubscribing: number;
    /** Of `lost`, those in an epoch the client was never told about. */
    lostInUnknownEpoch: number;
    /** Of `lost`, those after the last seq of their channel that anybody received: stuck, not skipped. */
    lostAfterChannelHead: number;
    notRecoveredReported: number;
    undeliveredAfterSubscriptionEnded: number;
    duplicated: number;
    /** Of `duplicated`, deliveries that came after a `recovered: false` re-subscription of the same subscription. */
    duplicatedAfterNotRecovered: number;
    reordered: number;
    /** Of `reordered`, deliveries that came after a `recovered: false` re-subscription of the same subscription. */
    reorderedAfterNotRecovered: number;
    /** Seqs skipped by a subscription that hold a message (acknowledged, or received by another subscriber). */
    gapSeqs: number;
    /** Jumps over at least one such seq, plus epoch changes without a re-subscription. */
    gapEvents: number;
    /** Skipped seqs nobody received and no acknowledged publish holds: placeholders (`skip`), not judged. */
    seqsSkippedByAll: number;
    disagreements: number;
    ackMismatches: number;
    /** Acknowledged publishes whose (epoch, seq) was delivered to subscribers with another message's id. */
    ackedPositionHoldsAnother: number;
    sequenceGapErrors: number;
    deliveredButPublishFailed: number;
    unknownIds: number;
    seqsDeliveredToNobody: number;
    /** Deliveries that arrived after the minimum drain: late, not lost. */
    afterMinimumDrain: number;
    /** From the publish being sent to its delivery, over every delivery of an acknowledged publish. */
    endToEnd: Distribution;
  };
  subscriptions: {
    total: number;
    endedWithError: number;
    endReasons: Record<string, number>;
    resubscribedNotRecovered: number;
    notRecoveredReasons: Record<string, number>;
  };
  clients: {
    statusAtEnd: Record<string, number>;
    /** Clients whose re-subscriptions after their last drop were still unanswered at the end. */
    stillResubscribing: number;
    reconnectEvents: number;
    /** Client `error` events other than SEQUENCE_GAP, by code. */
    errorsByCode: Record<string, number>;
  };
  recovery: {
    drops: number;
    /** Drop to next delivery; for a drop during the store pause, from the end of the pause. */
    recovered: Distribution;
    /** Drop to next delivery from the drop itself, pause or not. */
    recoveredRaw: Distribution;
    /** Drops that happened while the store was paused. */
    dropsDuringPause: number;
    neverReceivedAgain: number;
    /** Worst drop-to-next-delivery in ms, counting a drop never followed by a delivery as the time it waited. */
    worstMs: number | null;
    undecidedDrops: number;
    /**
     * The slowest recoveries: when the drop happened (ms on the run's timeline), how long it took,
     * and what the client saw meanwhile (to tell a slow re-subscription from a stalled stream).
     */
    slowest: SlowRecovery[];
  };
}

/** One slow drop-to-next-delivery and what the client saw after the drop. */
export interface SlowRecovery {
  client: number;
  droppedAt: number;
  ms: number;
  /** From the drop to the client's `reconnect` event (its re-subscriptions answered); null if none came. */
  reconnectedAfterMs: number | null;
  /** Per channel of the client: its first delivery after the drop, ms after the drop, and its seq. */
  firstDeliveries: Array<{ channel: string; afterMs: number | null; seq: number | null }>;
}

export interface SoakCheck {
  name: string;
  value: number | null;
  limit: string;
  pass: boolean;
}

export interface SoakVerdictInput {
  options: SoakOptions;
  publishes: PublishRecord[];
  notAttempted: number;
  subscriptions: SubscriptionRecord[];
  clients: ClientRecord[];
  downWindows: DownWindow[];
  storePause?: { from: number; to: number };
  /** When publishing stopped, on the timeline. */
  publishingEndedAt: number;
}

/** Compares every subscription's stream with every acknowledged publish and measures the timings. */
export function computeFigures(input: SoakVerdictInput): SoakFigures {
  const { options, publishes } = input;
  const byId = new Map(publishes.map((record) => [record.id, record]));
  const acknowledged = publishes.filter((record) => record.position !== undefined);
  const failed = publishes.filter((record) => record.error !== undefined);
  const failedByCode: Record<string, number> = {};
  for (const record of failed) failedByCode[record.error!] = (failedByCode[record.error!] ?? 0) + 1;

  const ackedByChannel = new Map<string, PublishRecord[]>();
  for (const record of acknowledged) {
    const list = ackedByChannel.get(record.channel) ?? [];
    list.push(record);
    ackedByChannel.set(record.channel, list);
  }

  const deliveries = {
    total: 0,
    expected: 0,
    lost: 0,
    lostOnClientsStillResubscribing: 0,
    lostInUnknownEpoch: 0,
    lostAfterChannelHead: 0,
    notRecoveredReported: 0,
    undeliveredAfterSubscriptionEnded: 0,
    duplicated: 0,
    duplicatedAfterNotRecovered: 0,
    reordered: 0,
    reorderedAfterNotRecovered: 0,
    gapSeqs: 0,
    gapEvents: 0,
    seqsSkippedByAll: 0,
    disagreements: 0,
    ackMismatches: 0,
    ackedPositionHoldsAnother: 0,
    sequenceGapErrors: 0,
    deliveredButPublishFailed: 0,
    unknownIds: 0,
    seqsDeliveredToNobody: 0,
    afterMinimumDrain: 0,
    endToEnd: distribution([]),
  };
  const endToEnd: number[] = [];
  const minimumDrainEnd = input.publishingEndedAt + options.drainSeconds * 1000;
  const subscriptions = {
    total: input.subscriptions.length,
    endedWithError: 0,
    endReasons: {} as Record<string, number>,
    resubscribedNotRecovered: 0,
    notRecoveredReasons: {} as Record<string, number>,
  };
  /** Per channel, `epoch:seq` → the message id delivered there (first seen). */
  const orderByChannel = new Map<string, Map<string, string>>();
  const conflictingPositions = new Set<string>();
  const lostPositions: { channel: string; epoch: string; seq: number }[] = [];
  const skippedRuns: { channel: string; epoch: string; seqs: number[] }[] = [];
  const resubscribing = new Set(input.clients.filter(isResubscribing).map((client) => client.index));
  const deliveredButFailedIds = new Set<string>();

  for (const subscription of input.subscriptions) {
    deliveries.sequenceGapErrors += subscription.sequenceGapErrors;
    if (subscription.closed) {
      subscriptions.endReasons[subscription.closed.reason] =
        (subscriptions.endReasons[subscription.closed.reason] ?? 0) + 1;
      if (subscription.closed.error) subscriptions.endedWithError += 1;
    }
    const order = orderByChannel.get(subscription.channel) ?? new Map<string, string>();
    orderByChannel.set(subscription.channel, order);

    /** Per epoch, the seq after which messages are expected. */
    const starts = new Map<string, number>([[subscription.start.epoch, subscription.start.seq]]);
    /** Ranges the client was told it could not recover (a `resubscribed` with `recovered: false`). */
    const reported: { epoch: string; from: number; to: number }[] = [];
    const deliveredCount = new Map<string, number>();
    /** Set by the first `recovered: false`: what follows it is broken down separately. */
    let afterNotRecovered = false;
    let baseline: ChannelPosition = subscription.start;
    const highestAckSeq = new Map<string, number>();
    let last: ChannelPosition = subscription.start;

    for (const event of subscription.events) {
      if (event.type === 'resubscribed') {
        if (!event.recovered) {
          afterNotRecovered = true;
          subscriptions.resubscribedNotRecovered += 1;
          const reason = event.reason ?? 'unknown';
          subscriptions.notRecoveredReasons[reason] = (subscriptions.notRecoveredReasons[reason] ?? 0) + 1;
          const sameEpoch = event.after.epoch === event.before.epoch;
          reported.push({
            epoch: event.before.epoch,
            from: event.before.seq + 1,
            to: sameEpoch ? event.after.seq : Infinity,
          });
          if (!sameEpoch) reported.push({ epoch: event.after.epoch, from: -Infinity, to: event.after.seq });
        }
        if (!event.recovered || event.after.epoch !== baseline.epoch) {
          baseline = event.after;
          if (!starts.has(event.after.epoch)) starts.set(event.after.epoch, event.after.seq);
        }
        continue;
      }
      deliveries.total += 1;
      if (event.at > minimumDrainEnd) deliveries.afterMinimumDrain += 1;
      if (afterNotRecovered && deliveredCount.has(event.id)) deliveries.duplicatedAfterNotRecovered += 1;
      deliveredCount.set(event.id, (deliveredCount.get(event.id) ?? 0) + 1);
      let outOfOrder = false;
      if (event.epoch === baseline.epoch) {
        if (event.seq <= baseline.seq) outOfOrder = true;
        else if (event.seq > baseline.seq + 1) {
          const skipped: number[] = [];
          for (let seq = baseline.seq + 1; seq < event.seq; seq++) {
            if (!reported.some((range) => range.epoch === event.epoch && seq >= range.from && seq <= range.to)) {
              skipped.push(seq);
            }
          }
          // Judged once every stream is known: a seq nobody got may be a placeholder (a `skip`).
          if (skipped.length > 0)
            skippedRuns.push({ channel: subscription.channel, epoch: event.epoch, seqs: skipped });
        }
      } else {
        // The epoch changed without a re-subscription telling the client so.
        deliveries.gapEvents += 1;
      }
      if (event.epoch !== baseline.epoch || event.seq > baseline.seq) baseline = { epoch: event.epoch, seq: event.seq };
      last = baseline;

      const key = `${event.epoch}:${event.seq}`;
      const seen = order.get(key);
      if (seen === undefined) order.set(key, event.id);
      else if (seen !== event.id) conflictingPositions.add(`${subscription.channel}|${key}`);

      const publish = byId.get(event.id);
      if (!publish) deliveries.unknownIds += 1;
      else if (publish.position === undefined) deliveredButFailedIds.add(event.id);
      else {
        if (publish.position.epoch !== event.epoch || publish.position.seq !== event.seq) deliveries.ackMismatches += 1;
        endToEnd.push(event.at - publish.sentAt);
        // Also against the acknowledged order: a message stored under another seq shows up here.
        const highest = highestAckSeq.get(publish.position.epoch);
        if (highest !== undefined && publish.position.seq < highest) outOfOrder = true;
        else highestAckSeq.set(publish.position.epoch, publish.position.seq);
      }
      if (outOfOrder) deliveries.reordered += 1;
      if (outOfOrder && afterNotRecovered) deliveries.reorderedAfterNotRecovered += 1;
    }
    for (const count of deliveredCount.values()) if (count > 1) deliveries.duplicated += count - 1;

    const stillResubscribing = resubscribing.has(subscription.client);
    for (const publish of ackedByChannel.get(subscription.channel) ?? []) {
      const { epoch, seq } = publish.position!;
      const startSeq = starts.get(epoch);
      if (startSeq === undefined) {
        // An epoch the client was never told about: expected if it was published while subscribed.
        const live = publish.sentAt > subscription.subscribedAt && !subscription.closed;
        if (!live || deliveredCount.has(publish.id)) continue;
        deliveries.expected += 1;
        deliveries.lost += 1;
        deliveries.lostInUnknownEpoch += 1;
        if (stillResubscribing) deliveries.lostOnClientsStillResubscribing += 1;
        continue;
      }
      if (seq <= startSeq) continue;
      deliveries.expected += 1;
      if (deliveredCount.has(publish.id)) continue;
      if (reported.some((range) => range.epoch === epoch && seq >= range.from && seq <= range.to)) {
        deliveries.notRecoveredReported += 1;
      } else if (subscription.closed && (epoch !== last.epoch || seq > last.seq)) {
        deliveries.undeliveredAfterSubscriptionEnded += 1;
      } else {
        deliveries.lost += 1;
        if (stillResubscribing) deliveries.lostOnClientsStillResubscribing += 1;
        lostPositions.push({ channel: subscription.channel, epoch, seq });
      }
    }
  }
  deliveries.disagreements = conflictingPositions.size;
  deliveries.endToEnd = distribution(endToEnd);
  deliveries.deliveredButPublishFailed = deliveredButFailedIds.size;
  const acknowledgedPositions = new Set(
    acknowledged.map((publish) => `${publish.channel}|${publish.position!.epoch}:${publish.position!.seq}`),
  );
  for (const run of skippedRuns) {
    const order = orderByChannel.get(run.channel);
    // A gap skips a seq that holds a message: acknowledged, or received by another subscriber.
    const missed = run.seqs.filter(
      (seq) =>
        acknowledgedPositions.has(`${run.channel}|${run.epoch}:${seq}`) || order?.has(`${run.epoch}:${seq}`) === true,
    );
    if (missed.length > 0) deliveries.gapEvents += 1;
    deliveries.gapSeqs += missed.length;
    deliveries.seqsSkippedByAll += run.seqs.length - missed.length;
  }
  for (const publish of acknowledged) {
    const delivered = orderByChannel.get(publish.channel)?.get(`${publish.position!.epoch}:${publish.position!.seq}`);
    if (delivered !== undefined && delivered !== publish.id) deliveries.ackedPositionHoldsAnother += 1;
  }
  const heads = new Map<string, number>();
  for (const [channel, order] of orderByChannel) {
    for (const key of order.keys()) {
      const separator = key.lastIndexOf(':');
      const head = `${channel}|${key.slice(0, separator)}`;
      heads.set(head, Math.max(heads.get(head) ?? 0, Number(key.slice(separator + 1))));
    }
  }
  for (const lost of lostPositions) {
    if (lost.seq > (heads.get(`${lost.channel}|${lost.epoch}`) ?? 0)) deliveries.lostAfterChannelHead += 1;
  }
  for (const order of orderByChannel.values()) {
    const seqsByEpoch = new Map<string, number[]>();
    for (const key of order.keys()) {
      const separator = key.lastIndexOf(':');
      const list = seqsByEpoch.get(key.slice(0, separator)) ?? [];
      list.push(Number(key.slice(separator + 1)));
      seqsByEpoch.set(key.slice(0, separator), list);
    }
    for (const seqs of seqsByEpoch.values()) {
      deliveries.seqsDeliveredToNobody += Math.max(...seqs) - Math.min(...seqs) + 1 - seqs.length;
    }
  }

  const overlaps = (from: number, to: number, windowFrom: number, windowTo: number) =>
    from <= windowTo && to >= windowFrom;
  const onSurvivorOutsidePause = (record: PublishRecord) => {
    const to = record.settledAt ?? input.publishingEndedAt;
    if (input.storePause && overlaps(record.sentAt, to, input.storePause.from, input.storePause.to)) return false;
    return !input.downWindows.some(
      (window) =>
        window.instance === record.instance &&
        overlaps(record.sentAt, to, window.killedAt, window.readyAt ?? Number.POSITIVE_INFINITY),
    );
  };
  const settled = publishes.filter((record) => record.settledAt !== undefined);
  const survivors = settled.filter(onSurvivorOutsidePause);

  // Nothing can be stored, hence published, while the store is paused: for a drop during the
  // pause, the clock starts when the store is back (the raw time is reported beside it).
  const clockStart = (droppedAt: number) =>
    input.storePause && droppedAt >= input.storePause.from && droppedAt < input.storePause.to
      ? input.storePause.to
      : droppedAt;
  const judged = input.clients.flatMap((client) =>
    client.recoveries.filter((recovery) => recovery.droppedAt < input.publishingEndedAt),
  );
  const recoveries = judged.map((recovery) => recovery.deliveredAt - clockStart(recovery.droppedAt));
  const rawRecoveries = judged.map((recovery) => recovery.deliveredAt - recovery.droppedAt);
  const dropsDuringPause = judged.filter((recovery) => clockStart(recovery.droppedAt) !== recovery.droppedAt).length;
  let neverReceivedAgain = 0;
  let undecidedDrops = 0;
  let worstMs = recoveries.length > 0 ? Math.max(...recoveries) : null;
  for (const client of input.clients) {
    for (const droppedAt of client.pendingDrops) {
      const waited = input.publishingEndedAt - clockStart(droppedAt);
      if (waited < 0) continue;
      if (waited < options.maxRecoveryMs) {
        undecidedDrops += 1;
        continue;
      }
      neverReceivedAgain += 1;
      worstMs = Math.max(worstMs ?? 0, waited);
    }
  }

  return {
    publishes: {
      planned: Math.round(options.publishRate * options.durationSeconds),
      attempted: publishes.length,
      acknowledged: acknowledged.length,
      failed: failed.length,
      failedByCode,
      notAttempted: input.notAttempted,
      latencyAll: distribution(acknowledged.map((record) => record.settledAt! - record.sentAt)),
      // Failed publishes count here with the time they took to fail (a timeout as the timeout).
      latencySurvivorsOutsidePause: distribution(survivors.map((record) => record.settledAt! - record.sentAt)),
      failedOnSurvivorsOutsidePause: survivors.filter((record) => record.error !== undefined).length,
      overLimitBySecond: Object.entries(
        tally(
          survivors
            .filter((record) => record.settledAt! - record.sentAt > options.maxPublishP99Ms)
            .map((record) => String(Math.floor(record.sentAt / 1000))),
        ),
      )
        .map(([second, count]) => ({ second: Number(second), count }))
        .sort((a, b) => b.count - a.count)
        .slice(0, 5),
      slowestSurvivors: survivors
        .map((record) => ({ sentAt: Math.round(record.sentAt), ms: Math.round(record.settledAt! - record.sentAt) }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 20),
    },
    deliveries,
    subscriptions,
    clients: {
      statusAtEnd: tally(input.clients.map((client) => client.statusAtEnd ?? 'unknown')),
      stillResubscribing: resubscribing.size,
      reconnectEvents: input.clients.reduce((sum, client) => sum + client.reconnects.length, 0),
      errorsByCode: tally(input.clients.flatMap((client) => client.otherErrors.map((error) => error.split(':')[0]))),
    },
    recovery: {
      drops: input.clients.reduce((sum, client) => sum + client.drops.length, 0),
      recovered: distribution(recoveries),
      recoveredRaw: distribution(rawRecoveries),
      dropsDuringPause,
      neverReceivedAgain,
      worstMs: worstMs === null ? null : Math.round(worstMs),
      undecidedDrops,
      slowest: input.clients
        .flatMap((client) => client.recoveries.map((recovery) => ({ client, recovery })))
        .map(({ client, recovery }) => ({
          client,
          droppedAt: recovery.droppedAt,
          ms: Math.round(recovery.deliveredAt - clockStart(recovery.droppedAt)),
        }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 20)
        .map(({ client, droppedAt, ms }) => describeRecovery(client, droppedAt, ms, input.subscriptions)),
    },
  };
}

function describeRecovery(
  client: ClientRecord,
  droppedAt: number,
  ms: number,
  subscriptions: SubscriptionRecord[],
): SlowRecovery {
  const reconnect = client.reconnects.find((event) => event.at >= droppedAt);
  return {
    client: client.index,
    droppedAt: Math.round(droppedAt),
    ms,
    reconnectedAfterMs: reconnect ? Math.round(reconnect.at - droppedAt) : null,
    firstDeliveries: subscriptions
      .filter((subscription) => subscription.client === client.index)
      .map((subscription) => {
        const first = subscription.events.find((event) => event.type === 'msg' && event.at >= droppedAt);
        return {
          channel: subscription.channel,
          afterMs: first ? Math.round(first.at - droppedAt) : null,
          seq: first?.type === 'msg' ? first.seq : null,
        };
      }),
  };
}

/** The pass/fail checks of a run, from its figures and the options' thresholds. */
export function judge(figures: SoakFigures, options: SoakOptions): SoakCheck[] {
  const zero = (name: string, value: number): SoakCheck => ({ name, value, limit: '= 0', pass: value === 0 });
  const { deliveries, publishes, recovery, subscriptions } = figures;
  const checks = [
    zero('lost (acknowledged, never delivered, not reported)', deliveries.lost),
    zero('duplicated deliveries', deliveries.duplicated),
    zero('reordered deliveries', deliveries.reordered),
    zero('seq gaps (missing seqs within an epoch)', deliveries.gapSeqs + deliveries.gapEvents),
    zero('clients disagreeing on a (channel, seq)', deliveries.disagreements),
    zero('delivered seq differs from acknowledged seq', deliveries.ackMismatches),
    zero('acknowledged seq delivered with another message', deliveries.ackedPositionHoldsAnother),
    zero('SEQUENCE_GAP error events', deliveries.sequenceGapErrors),
    zero('subscriptions ended by an error', subscriptions.endedWithError),
    zero('deliveries of unknown ids', deliveries.unknownIds),
    {
      name: 'worst drop-to-next-delivery (ms; a drop in the store pause from its end)',
      value: recovery.worstMs,
      limit: options.maxRecoveryMs === 0 ? 'reported' : `≤ ${options.maxRecoveryMs}`,
      pass: options.maxRecoveryMs === 0 || recovery.worstMs === null || recovery.worstMs <= options.maxRecoveryMs,
    },
    {
      name: 'acknowledged share of planned publishes',
      value: publishes.planned === 0 ? 0 : Number((publishes.acknowledged / publishes.planned).toFixed(3)),
      limit: `≥ ${options.minAckedRatio}`,
      pass: publishes.acknowledged >= options.minAckedRatio * publishes.planned && publishes.acknowledged > 0,
    },
  ];
  if (options.maxPublishP99Ms > 0) {
    const p99 = publishes.latencySurvivorsOutsidePause.p99;
    checks.push({
      name: 'publish p99 on survivors outside the store pause (ms)',
      value: p99,
      limit: `≤ ${options.maxPublishP99Ms}`,
      pass: p99 !== null && p99 <= options.maxPublishP99Ms,
    });
  }
  return checks;
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function distribution(values: number[]): Distribution {
  if (values.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (quantile: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)]);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: Math.round(sorted[sorted.length - 1]) };
}
