import type { SoakResult } from './soak.js';
import type { Distribution } from './soak-verdict.js';

const ms = (value: number | null) => (value === null ? 'n/a' : `${value} ms`);
const spread = (label: string, distribution: Distribution) =>
  row(
    label,
    `p50 ${ms(distribution.p50)}, p99 ${ms(distribution.p99)}, max ${ms(distribution.max)} (n=${distribution.count})`,
  );

function row(label: string, value: string | number): string {
  return `  ${label.padEnd(58)} ${value}`;
}

/** The run as a plain-text table: checks first, then the figures behind them. */
export function formatReport(result: SoakResult): string {
  const { figures } = result;
  const { publishes, deliveries, subscriptions, recovery } = figures;
  const times = (list: { instance: string; ms: number }[]) =>
    list.length === 0 ? 'none' : list.map((entry) => `${entry.instance} ${entry.ms}`).join(', ') + ' ms';
  const lines = [
    '',
    `SOAK ${result.pass ? 'PASSED' : 'FAILED'} — ${result.mode}, ${result.startedAt}, commit ${result.commit ?? 'unknown'}, store ${result.store}`,
    '',
    '  check'.padEnd(60) + ' value'.padEnd(14) + 'limit'.padEnd(10) + 'result',
    ...result.checks.map(
      (check) =>
        `  ${check.name.padEnd(58)} ${String(check.value ?? 'n/a').padEnd(13)} ${check.limit.padEnd(9)} ${check.pass ? 'ok' : 'FAIL'}`,
    ),
    '',
    'Publishes',
    row(
      'planned / attempted / acknowledged',
      `${publishes.planned} / ${publishes.attempted} / ${publishes.acknowledged}`,
    ),
    row(
      'failed (unacknowledged, never counted as lost)',
      `${publishes.failed} ${JSON.stringify(publishes.failedByCode)}`,
    ),
    row('not attempted (publisher had no open connection)', publishes.notAttempted),
    spread('latency, acknowledged, all instances', publishes.latencyAll),
    spread('latency, survivors outside the store pause (failures incl.)', publishes.latencySurvivorsOutsidePause),
    row('failed on survivors outside the store pause', publishes.failedOnSurvivorsOutsidePause),
    row(
      'slowest of those (sent at s: ms)',
      publishes.slowestSurvivors
        .slice(0, 8)
        .map((slow) => `${(slow.sentAt / 1000).toFixed(1)}: ${slow.ms}`)
        .join(', '),
    ),
    row(
      `over ${result.options.maxPublishP99Ms} ms, by second sent (worst 5)`,
      publishes.overLimitBySecond.map((over) => `${over.second} s: ${over.count}`).join(', ') || 'none',
    ),
    '',
    'Deliveries (every stream against every acknowledged publish)',
    row('delivered / expected', `${deliveries.total} / ${deliveries.expected}`),
    row('lost (not delivered by the end of the drain)', deliveries.lost),
    row('  of which on clients still re-subscribing at the end', deliveries.lostOnClientsStillResubscribing),
    row('  of which after the last seq anybody got on the channel', deliveries.lostAfterChannelHead),
    row('  of which in an epoch the client was never told about', deliveries.lostInUnknownEpoch),
    row('not recovered (reported with recovered: false)', deliveries.notRecoveredReported),
    row('undelivered after the subscription ended', deliveries.undeliveredAfterSubscriptionEnded),
    row('duplicated', deliveries.duplicated),
    row('  of which after a recovered: false', deliveries.duplicatedAfterNotRecovered),
    row('reordered', deliveries.reordered),
    row('  of which after a recovered: false', deliveries.reorderedAfterNotRecovered),
    row('gaps: missing seqs / jumps', `${deliveries.gapSeqs} / ${deliveries.gapEvents}`),
    row('seqs skipped by every subscriber (placeholders, per subscription)', deliveries.seqsSkippedByAll),
    row('disagreements (same channel and seq, different id)', deliveries.disagreements),
    row('delivered seq differs from acknowledged seq', deliveries.ackMismatches),
    row('acknowledged seq delivered with another message', deliveries.ackedPositionHoldsAnother),
    row('SEQUENCE_GAP error events', deliveries.sequenceGapErrors),
    row('delivered although the publish failed', deliveries.deliveredButPublishFailed),
    row('seqs delivered to nobody (holes in the union)', deliveries.seqsDeliveredToNobody),
    spread('publish sent to delivered', deliveries.endToEnd),
    row('delivered after the minimum drain (late)', deliveries.afterMinimumDrain),
    row('drain after the last publish', `${result.drain.seconds} s (${result.drain.endedBy})`),
    '',
    'Subscriptions and recovery',
    row('subscriptions / ended with an error', `${subscriptions.total} / ${subscriptions.endedWithError}`),
    row('end reasons', JSON.stringify(subscriptions.endReasons)),
    row(
      're-subscriptions with recovered: false',
      `${subscriptions.resubscribedNotRecovered} ${JSON.stringify(subscriptions.notRecoveredReasons)}`,
    ),
    row('client status at the end', JSON.stringify(figures.clients.statusAtEnd)),
    row('clients still re-subscribing at the end', figures.clients.stillResubscribing),
    row('reconnect events', figures.clients.reconnectEvents),
    row('client error events (besides SEQUENCE_GAP)', JSON.stringify(figures.clients.errorsByCode)),
    row('client drops', recovery.drops),
    spread('drop to next delivery (during the store pause: from its end)', recovery.recovered),
    spread('drop to next delivery, from the drop even during the pause', recovery.recoveredRaw),
    row('drops while the store was paused', recovery.dropsDuringPause),
    row('drops never followed by a delivery (counted in worst)', recovery.neverReceivedAgain),
    row('worst drop to next delivery', ms(recovery.worstMs)),
    row('drops too close to the end to judge', recovery.undecidedDrops),
    ...recovery.slowest
      .slice(0, 3)
      .map((slow) =>
        row(
          `  slow: client ${slow.client}, dropped at ${(slow.droppedAt / 1000).toFixed(1)} s`,
          `${slow.ms} ms; re-subscribed after ${ms(slow.reconnectedAfterMs)}; first deliveries ` +
            slow.firstDeliveries.map((first) => `${first.channel} ${ms(first.afterMs)} (seq ${first.seq})`).join(', '),
        ),
      ),
    '',
    'Instances and load generator',
    row('startup (spawn to READY)', times(result.startupMs)),
    row('restarts after SIGKILL (spawn to READY)', times(result.restartMs)),
    row(
      'load generator event-loop delay',
      `p50 ${result.loadGeneratorLagMs.p50} ms, p99 ${result.loadGeneratorLagMs.p99} ms, max ${result.loadGeneratorLagMs.max} ms`,
    ),
    row('machine load average (1 min) at start / end', `${result.loadAverage.start} / ${result.loadAverage.end}`),
    row(
      'CPU s while publishing',
      Object.entries(result.cpuSeconds)
        .map(([name, seconds]) => `${name} ${seconds}`)
        .join(', '),
    ),
    row('instance warnings/errors logged', result.instanceLog.lines),
    ...result.instanceLog.top.map((entry) => `    ${String(entry.count).padStart(6)} × ${entry.line}`),
    '',
    `Result: ${result.resultFile}`,
    '',
  ];
  return lines.join('\n');
}
