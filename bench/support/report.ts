import type { TargetName } from '../load/wire-protocols.js';
import type { Sample } from '../scenarios/scenarios.js';
import type { ScenarioName } from './bench-config.js';
import { median } from './stats.js';

/** A row of the table: one metric of one scenario. */
interface TableRow {
  scenario: ScenarioName;
  metric: string;
  label: string;
  /** DESIGN.md's targets against raw `ws`, as ratio bounds. */
  goals?: Goal[];
  /** Checks (delivery, order) are shown as they are, without a ratio. */
  noRatio?: boolean;
}

/** A bound on one target's ratio against raw `ws` (or, `absolute`, on its value itself). */
interface Goal {
  target: TargetName;
  bound: number;
  atMost: boolean;
  absolute?: boolean;
}

const SCENARIO_TITLES: Record<ScenarioName, string> = {
  ask: 'ask round trips',
  client: 'client library (load generator CPU)',
  'fan-out': 'fan-out, 1 channel',
  'fan-out-saturated': 'fan-out, saturated',
  publish: 'publish with history, one at a time',
  'idle-memory': 'idle connections',
  recovery: 'recovery on the other instance',
  'many-channels': 'many channels',
};

const atMost = (target: TargetName, bound: number): Goal => ({ target, bound, atMost: true });
const atLeast = (target: TargetName, bound: number): Goal => ({ target, bound, atMost: false });
const absolute = (goal: Goal): Goal => ({ ...goal, absolute: true });

// The goals are the performance targets of the issue tracker (bench/README.md lists them).
const ROWS: TableRow[] = [
  { scenario: 'ask', metric: 'cpuPerOpUs', label: 'server CPU per round trip (µs)', goals: [atMost('sss', 1.05)] },
  { scenario: 'ask', metric: 'userCpuPerOpUs', label: '… of which user space (µs)' },
  { scenario: 'ask', metric: 'opsPerSecond', label: 'round trips per second', goals: [atLeast('sss', 0.9)] },
  { scenario: 'ask', metric: 'p50Ms', label: 'latency p50 (ms)' },
  { scenario: 'ask', metric: 'p99Ms', label: 'latency p99 (ms)', goals: [atMost('sss', 1.2)] },
  {
    scenario: 'client',
    metric: 'clientCpuPerDeliveryUs',
    label: 'client CPU per delivery (µs)',
    goals: [absolute(atMost('sss', 4))],
  },
  { scenario: 'client', metric: 'deliveriesPerSecond', label: 'deliveries per second' },
  { scenario: 'client', metric: 'clientCpuPerAskUs', label: 'client CPU per ask (µs)', goals: [atMost('sss', 1.1)] },
  { scenario: 'client', metric: 'asksPerSecond', label: 'asks per second' },
  {
    scenario: 'fan-out',
    metric: 'cpuPerDeliveryUs',
    label: 'server CPU per delivery, both instances (µs)',
    goals: [atMost('sss', 1.0), atMost('sss-history-off', 0.9)],
  },
  { scenario: 'fan-out', metric: 'userCpuPerDeliveryUs', label: '… of which user space (µs)' },
  { scenario: 'fan-out', metric: 'p50Ms', label: 'latency p50 (ms)', goals: [atMost('sss', 1.2)] },
  {
    scenario: 'fan-out',
    metric: 'p99Ms',
    label: 'latency p99 (ms)',
    goals: [atMost('sss', 1.1), atMost('sss-history-off', 1.1)],
  },
  { scenario: 'fan-out', metric: 'deliveredPercent', label: 'delivered (%)', noRatio: true },
  { scenario: 'fan-out', metric: 'outOfOrder', label: 'out of order', noRatio: true },
  {
    scenario: 'fan-out-saturated',
    metric: 'arrivalsPerSecond',
    label: 'deliveries per second',
    goals: [atLeast('sss', 1.0)],
  },
  {
    scenario: 'fan-out-saturated',
    metric: 'ackedInTimePercent',
    label: 'publishes acknowledged within 10 s (%)',
    noRatio: true,
    goals: [absolute(atLeast('sss', 95))],
  },
  { scenario: 'fan-out-saturated', metric: 'serverPeakRssMB', label: 'server peak RSS (MB)' },
  { scenario: 'fan-out-saturated', metric: 'outOfOrder', label: 'out of order', noRatio: true },
  {
    scenario: 'publish',
    metric: 'emptyCpuPerPublishUs',
    label: 'server CPU per publish, empty history (µs)',
    goals: [absolute(atMost('sss', 150))],
  },
  {
    scenario: 'publish',
    metric: 'storedCpuPerPublishUs',
    label: 'server CPU per publish, history already stored (µs)',
    goals: [absolute(atMost('sss', 150))],
  },
  { scenario: 'publish', metric: 'emptyP50Ms', label: 'latency p50, empty history (ms)' },
  { scenario: 'publish', metric: 'storedP50Ms', label: 'latency p50, history stored (ms)' },
  { scenario: 'publish', metric: 'storedP99Ms', label: 'latency p99, history stored (ms)' },
  {
    scenario: 'idle-memory',
    metric: 'rssPerConnectionKB',
    label: 'RSS per idle connection (KB)',
    goals: [atMost('sss', 1.0)],
  },
  { scenario: 'idle-memory', metric: 'heapPerConnectionKB', label: 'JS heap per idle connection (KB)' },
  {
    scenario: 'recovery',
    metric: 'memoryConnectToAllMs',
    label: 'from memory: connect → all missed messages (ms)',
    goals: [absolute(atMost('sss', 50))],
  },
  { scenario: 'recovery', metric: 'memorySubscribeToAllMs', label: 'from memory: `sub` → all missed (ms)' },
  { scenario: 'recovery', metric: 'memoryCpuPerMessageUs', label: 'from memory: server CPU per message (µs)' },
  {
    scenario: 'recovery',
    metric: 'storeConnectToAllMs',
    label: 'from the store: connect → all missed messages (ms)',
    goals: [absolute(atMost('sss', 150))],
  },
  { scenario: 'recovery', metric: 'storeSubscribeToAllMs', label: 'from the store: `sub` → all missed (ms)' },
  { scenario: 'recovery', metric: 'storeCpuPerMessageUs', label: 'from the store: server CPU per message (µs)' },
  {
    scenario: 'recovery',
    metric: 'storeDriverReadMs',
    label: 'from the store: one driver read of the same range (ms)',
  },
  {
    scenario: 'many-channels',
    metric: 'cpuPerDeliveryUs',
    label: 'server CPU per delivery, both instances (µs)',
    goals: [atMost('sss', 1.2)],
  },
  { scenario: 'many-channels', metric: 'userCpuPerDeliveryUs', label: '… of which user space (µs)' },
  { scenario: 'many-channels', metric: 'p50Ms', label: 'latency p50 (ms)' },
  { scenario: 'many-channels', metric: 'p99Ms', label: 'latency p99 (ms)' },
  { scenario: 'many-channels', metric: 'deliveredPercent', label: 'delivered (%)', noRatio: true },
  { scenario: 'many-channels', metric: 'outOfOrder', label: 'out of order', noRatio: true },
  { scenario: 'many-channels', metric: 'setupSeconds', label: 'connect and subscribe (s)' },
];

const COLUMNS: Array<{ target: TargetName; title: string }> = [
  { target: 'raw-ws', title: 'raw `ws`' },
  { target: 'socket-io', title: 'Socket.IO 4.8' },
  { target: 'sss', title: 'ours' },
  { target: 'sss-history-off', title: 'ours, history off' },
  { target: 'sss-cluster', title: 'ours, Redis Cluster' },
  { target: 'sss-baseline', title: 'ours, baseline' },
];

/** The median of one metric over the runs of one target, with how many runs it comes from. */
export interface SummaryCell {
  median: number;
  min: number;
  max: number;
  runs: number;
  /** Against raw `ws` in the same run. */
  ratio?: number;
}

export type Summary = Record<string, Record<string, Partial<Record<TargetName, SummaryCell>>>>;

export function summarize(samples: Sample[]): Summary {
  const summary: Summary = {};
  for (const row of ROWS) {
    const cells: Partial<Record<TargetName, SummaryCell>> = {};
    for (const { target } of COLUMNS) {
      const values = samples
        .filter((sample) => sample.scenario === row.scenario && sample.target === target && !sample.error)
        .map((sample) => sample.metrics[row.metric])
        .filter((value) => Number.isFinite(value));
      if (values.length === 0) continue;
      cells[target] = {
        median: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        runs: values.length,
      };
    }
    const baseline = cells['raw-ws']?.median;
    for (const cell of Object.values(cells)) {
      if (baseline && cell) cell.ratio = cell.median / baseline;
    }
    (summary[row.scenario] ??= {})[row.metric] = cells;
  }
  return summary;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The markdown table of medians, with ratios against raw `ws` and DESIGN.md's targets. */
export function markdownTable(summary: Summary, samples: Sample[]): string {
  const columns = COLUMNS.filter(({ target }) => samples.some((sample) => sample.target === target));
  const lines = [
    `| scenario | metric | ${columns.map((column) => column.title).join(' | ')} | target |`,
    `|---|---|${columns.map(() => '---').join('|')}|---|`,
  ];
  let previous: ScenarioName | undefined;
  for (const row of ROWS) {
    const cells = summary[row.scenario]?.[row.metric] ?? {};
    if (Object.keys(cells).length === 0) continue;
    const values = columns.map(({ target }) => {
      const cell = cells[target];
      if (!cell) return '—';
      const ratio =
        target !== 'raw-ws' && !row.noRatio && cell.ratio !== undefined ? ` (${cell.ratio.toFixed(2)}×)` : '';
      return formatNumber(cell.median) + ratio;
    });
    const verdict = (row.goals ?? [])
      .filter((goal) => (goal.absolute ? cells[goal.target] : cells[goal.target]?.ratio) !== undefined)
      .map((goal) => {
        const value = goal.absolute ? cells[goal.target]!.median : cells[goal.target]!.ratio!;
        const met = goal.atMost ? value <= goal.bound : value >= goal.bound;
        const who = COLUMNS.find((column) => column.target === goal.target)!.title;
        const bound = goal.absolute ? formatNumber(goal.bound) : `${goal.bound.toFixed(2)}×`;
        return `${who} ${goal.atMost ? '≤' : '≥'} ${bound}: ${met ? 'met' : '**not met**'}`;
      })
      .join('; ');
    const title = row.scenario === previous ? '' : SCENARIO_TITLES[row.scenario];
    previous = row.scenario;
    lines.push(`| ${title} | ${row.label} | ${values.join(' | ')} | ${verdict} |`);
  }
  const foreign = samples.map((sample) => sample.metrics.foreignCpuShare).filter((share) => Number.isFinite(share));
  if (foreign.length > 0) {
    lines.push(
      '',
      `Other processes on the machine used ${median(foreign).toFixed(2)} cores (median over the runs; ` +
        `at most ${Math.max(...foreign).toFixed(2)}) while the bench ran.`,
    );
  }
  const failed = samples.filter((sample) => sample.error);
  if (failed.length > 0) {
    lines.push('', 'Runs left out of the medians:');
    for (const sample of failed)
      lines.push(`- ${sample.scenario} / ${sample.target} #${sample.repeat}: ${sample.error}`);
  }
  return lines.join('\n');
}
