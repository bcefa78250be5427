/**
 * Where a `--cpu-prof` profile spends its time: the top functions by self time, and self time by
 * package. Usage (after `npm run bench` with BENCH_CPU_PROFILE=<dir>):
 *
 *   node .tmp/bench/bench/profile-summary.js [--top=25] [--skip-ms=3000] <file.cpuprofile>...
 *
 * Only the measured window counts when the runner saved it next to the profile
 * (`<name>.window.json`); otherwise `--skip-ms` leaves out the first milliseconds of each profile
 * (startup, connecting, subscribing).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function comes from: an npm package, our lib, Node itself, or V8's own buckets. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node';
  // Compiled to .tmp/bench/{bench,lib}/…: the bench's own code, or the library's.
  if (url.includes('/bench/bench/')) return 'bench';
  const lib = url.lastIndexOf('/lib/');
  if (lib !== -1) return `ours: ${url.slice(lib + 5).split('/')[0]}`;
  return url;
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const found = args.find((arg) => arg.startsWith(`--${name}=`));
    return found ? Number(found.split('=')[1]) : fallback;
  };
  const top = option('top', 25);
  const skipMicros = option('skip-ms', 0) * 1000;
  const files = args.filter((arg) => !arg.startsWith('--'));
  if (files.length === 0) throw new Error('usage: profile-summary.js [--top=25] [--skip-ms=0] <file.cpuprofile>...');

  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const windowFile = file.replace(/\.cpuprofile$/, '.window.json');
    const window = existsSync(windowFile)
      ? (JSON.parse(readFileSync(windowFile, 'utf8')) as { fromUs: number; toUs: number })
      : { fromUs: profile.startTime + skipMicros, toUs: Number.POSITIVE_INFINITY };
    let at = profile.startTime;
    profile.samples.forEach((nodeId, index) => {
      const delta = profile.timeDeltas[index] ?? 0;
      at += delta;
      if (at < window.fromUs || at > window.toUs) return;
      const { functionName, url, lineNumber } = nodes.get(nodeId)!.callFrame;
      if (functionName === '(idle)') return;
      const key = `${functionName || '(anonymous)'} ${url ? `${basename(url)}:${lineNumber + 1}` : ''}`.trim();
      byFunction.set(key, (byFunction.get(key) ?? 0) + delta);
      const pkg = packageOf(url, functionName);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + delta);
      total += delta;
    });
  }
  const print = (title: string, entries: Map<string, number>) => {
    console.log(`\n${title} (busy time ${(total / 1000).toFixed(0)} ms, idle excluded)`);
    for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(
        `${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`,
      );
    }
  };
  print('Self time by package', byPackage);
  print('Top functions by self time', byFunction);
}

main();
