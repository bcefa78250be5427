/**
 * `npm run bench`: every scenario on every target, targets alternating within each repeat, then
 * bench/results/latest.json (every sample) and latest.md (medians, ratios against raw `ws`
 * measured in the same run). Settings come from BENCH_* environment variables (bench/README.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import type { TargetName } from './load/wire-protocols.js';
import {
  LOAD_CORE,
  runAskScenario,
  runClientLibraryScenario,
  runFanOutScenario,
  runIdleMemoryScenario,
  runPublishCostScenario,
  runRecoveryScenario,
  type Sample,
  type ScenarioContext,
} from './scenarios/scenarios.js';
import { readBenchConfig, type BenchConfig, type ScenarioName } from './support/bench-config.js';
import { BenchProcess } from './support/bench-process.js';
import { BenchServices, pinTo } from './support/bench-services.js';
import { clockTicksPerSecond } from './support/proc-stat.js';
import { markdownTable, summarize } from './support/report.js';

// The compiled runner lives in .tmp/bench/bench/; results go to the source tree's bench/results.
const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function requireTaskset(): void {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('taskset is missing (Debian: apt-get install util-linux); the bench pins processes to cores.');
  }
  if (cpus().length < 2) throw new Error('The bench needs 2 cores: servers on core 0, the load generator on core 1.');
}

/** The order of targets in repeat `repeat`: rotated, so that no target always runs first or last. */
function rotate<T>(items: T[], repeat: number): T[] {
  const shift = repeat % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * History off only changes the multi-instance fan-out; elsewhere it would be ours again. The Redis
 * Cluster runs in the one-channel fan-out (one Redis against a cluster, both with history). Many
 * channels runs ours with MongoDB history too unless BENCH_MANY_HISTORY=0.
 */
function targetsOf(scenario: ScenarioName, config: BenchConfig): TargetName[] {
  // A client library, or a stored publish: ours against what `ws` alone does.
  if (scenario === 'client' || scenario === 'publish')
    return config.targets.filter((target) => target === 'raw-ws' || target === 'sss');
  const fanOut = scenario === 'fan-out' || scenario === 'fan-out-saturated' || scenario === 'many-channels';
  return config.targets.filter(
    (target) =>
      (fanOut || target !== 'sss-history-off') &&
      (scenario === 'fan-out' || target !== 'sss-cluster') &&
      (scenario !== 'many-channels' || target !== 'sss' || config.manyChannels.withHistory),
  );
}

function describe(sample: Sample): string {
  const time = new Date().toISOString().slice(11, 19);
  const metrics = Object.entries(sample.metrics)
    .map(([name, value]) => `${name}=${Number.isInteger(value) ? value : value.toFixed(2)}`)
    .join(' ');
  return `${time} ${sample.scenario} ${sample.target} #${sample.repeat}: ${sample.error ? `FAILED ${sample.error}` : metrics}`;
}

function failedSample(scenario: ScenarioName, target: TargetName, repeat: number, error: unknown): Sample {
  const message = error instanceof Error ? error.message : String(error);
  return { scenario, target, repeat, metrics: {}, error: message.split('\n')[0] };
}

async function main(): Promise<void> {
  requireTaskset();
  const config = readBenchConfig(join(PROJECT_ROOT, 'bench', 'results'));
  // The runner itself stays off the servers' core.
  pinTo(process.pid, LOAD_CORE);
  const startedAt = new Date();
  const needsServices = config.scenarios.some(
    (scenario) => scenario !== 'ask' && scenario !== 'idle-memory' && scenario !== 'client',
  );
  const withCluster = config.scenarios.includes('fan-out') && config.targets.includes('sss-cluster');
  const services = needsServices ? await BenchServices.start(LOAD_CORE, withCluster) : undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      BenchProcess.killAll();
      void services?.stop().finally(() => process.exit(130));
    });
  }
  const context: ScenarioContext = { config, services, ticksPerSecond: clockTicksPerSecond() };
  if (config.cpuProfileDir) mkdirSync(config.cpuProfileDir, { recursive: true });
  const samples: Sample[] = [];
  const record = (sample: Sample) => {
    samples.push(sample);
    console.log(describe(sample));
  };

  try {
    for (const scenario of config.scenarios) {
      if (scenario === 'recovery') {
        if (!config.targets.includes('sss')) continue;
        for (const source of ['memory', 'store'] as const) {
          try {
            for (const sample of await runRecoveryScenario(context, source)) record(sample);
          } catch (error) {
            record(failedSample(scenario, 'sss', 0, error));
          }
        }
        continue;
      }
      const repeats =
        scenario === 'many-channels'
          ? config.manyChannels.repeats
          : scenario === 'ask'
            ? config.ask.repeats
            : config.repeats;
      for (let repeat = 0; repeat < repeats; repeat++) {
        for (const target of rotate(targetsOf(scenario, config), repeat)) {
          try {
            if (scenario === 'ask') record(await runAskScenario(context, target, repeat));
            else if (scenario === 'client')
              record(await runClientLibraryScenario(context, target as 'sss' | 'raw-ws', repeat));
            else if (scenario === 'publish') {
              record(await runPublishCostScenario(context, target, repeat, 0));
              record(await runPublishCostScenario(context, target, repeat, config.publish.stored));
            } else if (scenario === 'idle-memory') record(await runIdleMemoryScenario(context, target, repeat));
            else record(await runFanOutScenario(context, target, repeat, scenario));
          } catch (error) {
            record(failedSample(scenario, target, repeat, error));
          }
        }
      }
    }
  } finally {
    await services?.stop();
  }

  const summary = summarize(samples);
  const table = markdownTable(summary, samples);
  const machine = {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    mongo: services?.mongo.kind,
  };
  const finishedAt = new Date();
  const minutes = ((finishedAt.getTime() - startedAt.getTime()) / 60_000).toFixed(1);
  const heading =
    `Run of ${startedAt.toISOString()} (${minutes} min), ${machine.cores}× ${machine.cpu}, Node ${machine.node}. ` +
    `Medians of ${config.repeats} alternating runs (ask: ${config.ask.repeats}; many channels: ` +
    `${config.manyChannels.repeats}; recovery: ` +
    `${config.recovery.samples} samples); ratios against raw \`ws\` in the same run` +
    (config.rawHistory ? ', which stores every publish (`BENCH_RAW_HISTORY=1`).' : '.');
  mkdirSync(config.outDir, { recursive: true });
  // Formatted like the rest of the tree, so that `prettier --check .` passes with results present.
  // Paths relative to the project: the results say nothing about where it was checked out.
  const settings = { ...config, outDir: relative(PROJECT_ROOT, config.outDir) };
  const json = JSON.stringify({ startedAt, finishedAt, machine, config: settings, summary, samples });
  writeFileSync(join(config.outDir, 'latest.json'), await prettier.format(json, { parser: 'json', printWidth: 120 }));
  const markdown = await prettier.format(`${heading}\n\n${table}\n`, { parser: 'markdown', printWidth: 120 });
  writeFileSync(join(config.outDir, 'latest.md'), markdown);
  console.log(`\n${markdown}\nWritten to ${join(config.outDir, 'latest.json')} and latest.md`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
