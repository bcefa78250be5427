import { describe, expect, it } from 'vitest';
import type { ClientRecord, PublishRecord, SubscriptionEvent, SubscriptionRecord } from '../soak/soak-load.js';
import { DEFAULT_SOAK_OPTIONS, parseSoakOptions } from '../soak/soak-options.js';
import { computeFigures, judge, type SoakVerdictInput } from '../soak/soak-verdict.js';

const EPOCH = 'e1';

/** Acknowledged publishes `p-1` … `p-n` on channel `c`, seqs 1 … n, sent at 100 ms steps. */
function published(count: number): PublishRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `p-${index + 1}`,
    channel: 'c',
    instance: 'i0',
    sentAt: 1_000 + index * 100,
    settledAt: 1_010 + index * 100,
    position: { epoch: EPOCH, seq: index + 1 },
  }));
}

const message = (seq: number, id = `p-${seq}`, at = 1_000 + seq * 100): SubscriptionEvent => ({
  type: 'msg',
  at,
  id,
  seq,
  epoch: EPOCH,
});

function subscription(events: SubscriptionEvent[], client = 0): SubscriptionRecord {
  return { client, channel: 'c', subscribedAt: 0, start: { epoch: EPOCH, seq: 0 }, events, sequenceGapErrors: 0 };
}

function client(index: number, drops: number[] = [], recoveries: ClientRecord['recoveries'] = []): ClientRecord {
  return {
    index,
    drops: drops.map((at) => ({ at, code: 1006 })),
    recoveries,
    pendingDrops: [],
    reconnects: drops.map((at) => ({ at: at + 1, recovered: true, failures: [] })),
    otherErrors: [],
  };
}

function figures(subscriptions: SubscriptionRecord[], overrides: Partial<SoakVerdictInput> = {}) {
  return computeFigures({
    options: { ...DEFAULT_SOAK_OPTIONS, publishRate: 1, durationSeconds: 5 },
    publishes: published(5),
    notAttempted: 0,
    subscriptions,
    clients: [client(0), client(1)],
    downWindows: [],
    publishingEndedAt: 2_000,
    ...overrides,
  });
}

describe('soak verdict', () => {
  it('finds nothing wrong in a complete, ordered stream', () => {
    const result = figures([subscription([1, 2, 3, 4, 5].map((seq) => message(seq)))]);
    expect(result.deliveries).toMatchObject({ expected: 5, lost: 0, duplicated: 0, reordered: 0, gapSeqs: 0 });
    expect(judge(result, { ...DEFAULT_SOAK_OPTIONS, maxPublishP99Ms: 0 }).every((check) => check.pass)).toBe(true);
  });

  it('counts a missing acknowledged message as lost and its seq as a gap', () => {
    const result = figures([subscription([1, 2, 4, 5].map((seq) => message(seq)))]);
    expect(result.deliveries).toMatchObject({ lost: 1, gapSeqs: 1, gapEvents: 1 });
    expect(judge(result, DEFAULT_SOAK_OPTIONS).find((check) => check.name.startsWith('lost'))?.pass).toBe(false);
  });

  it('counts a seq skipped by every subscriber and held by no acknowledged publish as a placeholder, not a gap', () => {
    const publishes = published(5).filter((publish) => publish.position!.seq !== 3);
    const stream = [1, 2, 4, 5].map((seq) => message(seq));
    const result = figures([subscription(stream), subscription(stream, 1)], { publishes });
    expect(result.deliveries).toMatchObject({ gapSeqs: 0, gapEvents: 0, seqsSkippedByAll: 2, lost: 0 });
  });

  it('counts a seq another subscriber received as a gap', () => {
    const publishes = published(5).filter((publish) => publish.position!.seq !== 3);
    const whole = [1, 2, 3, 4, 5].map((seq) => message(seq, seq === 3 ? 'q-1' : `p-${seq}`));
    const skipping = [1, 2, 4, 5].map((seq) => message(seq));
    const result = figures([subscription(whole), subscription(skipping, 1)], { publishes });
    expect(result.deliveries).toMatchObject({ gapSeqs: 1, gapEvents: 1, seqsSkippedByAll: 0 });
  });

  it('counts a message the client was told it could not recover as reported, not lost', () => {
    const events: SubscriptionEvent[] = [
      message(1),
      message(2),
      {
        type: 'resubscribed',
        at: 1_350,
        recovered: false,
        reason: 'out_of_retention',
        before: { epoch: EPOCH, seq: 2 },
        after: { epoch: EPOCH, seq: 4 },
      },
      message(5),
    ];
    const result = figures([subscription(events)]);
    expect(result.deliveries).toMatchObject({ lost: 0, notRecoveredReported: 2, gapSeqs: 0 });
    expect(result.subscriptions.notRecoveredReasons).toEqual({ out_of_retention: 1 });
  });

  it('breaks down duplicates and reordering that follow a recovered: false', () => {
    const events: SubscriptionEvent[] = [
      message(1),
      message(2),
      message(3),
      {
        type: 'resubscribed',
        at: 1_350,
        recovered: false,
        reason: 'invalid_position',
        before: { epoch: EPOCH, seq: 3 },
        after: { epoch: EPOCH, seq: 1 },
      },
      message(2),
      message(3),
      message(4),
      message(5),
    ];
    expect(figures([subscription(events)]).deliveries).toMatchObject({
      duplicated: 2,
      duplicatedAfterNotRecovered: 2,
      reordered: 1,
      reorderedAfterNotRecovered: 1,
      lost: 0,
    });
  });

  it('counts messages before the subscription point as not expected', () => {
    const late = { ...subscription([4, 5].map((seq) => message(seq))), start: { epoch: EPOCH, seq: 3 } };
    expect(figures([late]).deliveries).toMatchObject({ expected: 2, lost: 0 });
  });

  it('counts duplicates, disagreements and acknowledged-seq mismatches', () => {
    const duplicate = subscription([message(1), message(2), message(3), message(4, 'p-3'), message(5)]);
    const other = subscription([message(1), message(2), message(3), message(4), message(5)], 1);
    const result = figures([duplicate, other]);
    expect(result.deliveries).toMatchObject({ duplicated: 1, lost: 1, disagreements: 1, ackMismatches: 1 });
  });

  it('finds an acknowledged seq that every subscriber got with a failed publish instead', () => {
    const publishes = [...published(5), { id: 'q-1', channel: 'c', instance: 'i1', sentAt: 1_000, error: 'TIMEOUT' }];
    const stream = [message(1), message(2), message(3, 'q-1'), message(4), message(5)];
    const result = figures([subscription(stream), subscription(stream, 1)], { publishes });
    expect(result.deliveries).toMatchObject({ lost: 2, disagreements: 0, ackedPositionHoldsAnother: 1, gapSeqs: 0 });
  });

  it('counts a delivery that comes after a message acknowledged later as reordered', () => {
    const swapped = subscription([message(1), message(2), message(3, 'p-4'), message(4, 'p-3'), message(5)]);
    expect(figures([swapped]).deliveries).toMatchObject({ reordered: 1, ackMismatches: 2, lost: 0, duplicated: 0 });
  });

  it('takes the worst drop-to-next-delivery, counting a drop never followed by a delivery', () => {
    const recovering = client(0, [1_000], [{ droppedAt: 1_000, deliveredAt: 1_800 }]);
    const stuck = { ...client(1, [500]), pendingDrops: [500], reconnects: [] };
    const result = figures([subscription([1, 2, 3, 4, 5].map((seq) => message(seq)))], {
      clients: [recovering, stuck],
      publishingEndedAt: 6_000,
    });
    expect(result.recovery).toMatchObject({ neverReceivedAgain: 1, worstMs: 5_500 });
    expect(result.clients.stillResubscribing).toBe(1);
    expect(judge(result, DEFAULT_SOAK_OPTIONS).find((check) => check.name.startsWith('worst'))?.pass).toBe(false);
  });

  it('times a drop during the store pause from the end of the pause, and reports the raw time beside it', () => {
    const inPause = client(0, [2_000], [{ droppedAt: 2_000, deliveredAt: 6_500 }]);
    const outside = client(1, [8_000], [{ droppedAt: 8_000, deliveredAt: 8_900 }]);
    const result = figures([subscription([1, 2, 3, 4, 5].map((seq) => message(seq)))], {
      clients: [inPause, outside],
      storePause: { from: 1_500, to: 6_000 },
      publishingEndedAt: 20_000,
    });
    expect(result.recovery).toMatchObject({ worstMs: 900, dropsDuringPause: 1 });
    expect(result.recovery.recoveredRaw.max).toBe(4_500);
    // Without the pause, the same drop counts from the drop.
    const unpaused = figures([subscription([1, 2, 3, 4, 5].map((seq) => message(seq)))], {
      clients: [inPause, outside],
      publishingEndedAt: 20_000,
    });
    expect(unpaused.recovery).toMatchObject({ worstMs: 4_500, dropsDuringPause: 0 });
  });

  it('excludes publishes during the store pause or on a killed instance from the survivors latency', () => {
    const publishes = published(3);
    publishes[1] = { ...publishes[1], settledAt: publishes[1].sentAt + 5_000 };
    publishes[2] = { ...publishes[2], instance: 'i1', settledAt: publishes[2].sentAt + 9_000 };
    const result = figures([], {
      publishes,
      storePause: { from: 1_150, to: 1_160 },
      downWindows: [{ instance: 'i1', killedAt: 1_250, readyAt: 4_000 }],
    });
    expect(result.publishes.latencyAll.max).toBe(9_000);
    expect(result.publishes.latencySurvivorsOutsidePause).toMatchObject({ count: 1, max: 10 });
  });
});

describe('soak options', () => {
  it('reads flags over the environment over the defaults, and --no-chaos turns every chaos element off', () => {
    const options = parseSoakOptions(['--duration=30', '--no-chaos'], { SOAK_RATE: '100', SOAK_DURATION: '90' });
    expect(options).toMatchObject({ durationSeconds: 30, publishRate: 100, killIntervalSeconds: 0 });
    expect(options).toMatchObject({ redisRestart: false, storePauseSeconds: 0 });
  });

  it('rejects unknown or malformed options', () => {
    expect(() => parseSoakOptions(['--speed=3'], {})).toThrow(/Unknown soak option/);
    expect(() => parseSoakOptions(['--rate=fast'], {})).toThrow(/must be a number/);
  });
});
