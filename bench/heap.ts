/**
 * Where each idle connection's JS heap goes (`npm run bench:heap`). RSS per connection moves by
 * ±5% from run to run on this kind of VM; a heap snapshot counts every object. For each target
 * (raw `ws`, raw `ws` greeting each connection like our `hello`, ours on the embedded scaler, as
 * the idle-memory scenario runs them), one server takes BENCH_HEAP_CONNECTIONS connections; a
 * snapshot before and after (each after forced GC) gives the growth per connection by kind of
 * object (class, closure, string, V8's internals), side by side.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchConnection, forEachLimited } from './load/bench-connection.js';
import { wireProtocols, type TargetName } from './load/wire-protocols.js';
import { BenchProcess } from './support/bench-process.js';

const CONNECTIONS = Number(process.env.BENCH_HEAP_CONNECTIONS ?? 3_000);
/** Rows smaller than this (bytes per connection, in every target) are summed into "the rest". */
const MIN_ROW_BYTES = 8;

interface HeapTarget {
  label: string;
  target: TargetName;
  env?: NodeJS.ProcessEnv;
}

const TARGETS: HeapTarget[] = [
  { label: 'raw ws', target: 'raw-ws' },
  { label: 'raw ws + hello', target: 'raw-ws', env: { BENCH_RAW_HELLO: '1' } },
  { label: 'ours', target: 'sss' },
];

/** Bytes and objects per kind of heap object (`type:name`). */
type HeapCensus = Map<string, { count: number; bytes: number }>;

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Sums a snapshot's nodes by kind: objects by class, strings and compiled code each as one kind. */
function census(path: string): HeapCensus {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshotFile;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const kinds: HeapCensus = new Map();
  for (let node = 0; node < snapshot.nodes.length; node += fields.length) {
    const type = types[snapshot.nodes[node + typeAt]];
    // A string's name is its text, a closure's its function's: only the kind counts.
    const named = type === 'object' || type === 'native' || type === 'hidden' || type === 'array';
    const kind = named ? `${type}: ${snapshot.strings[snapshot.nodes[node + nameAt]].slice(0, 50)}` : type;
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += snapshot.nodes[node + sizeAt];
    kinds.set(kind, entry);
  }
  return kinds;
}

/** Growth per connection between two censuses. */
function growth(before: HeapCensus, after: HeapCensus, connections: number): HeapCensus {
  const grown: HeapCensus = new Map();
  for (const kind of new Set([...before.keys(), ...after.keys()])) {
    const [was, is] = [before.get(kind), after.get(kind)];
    grown.set(kind, {
      count: ((is?.count ?? 0) - (was?.count ?? 0)) / connections,
      bytes: ((is?.bytes ?? 0) - (was?.bytes ?? 0)) / connections,
    });
  }
  return grown;
}

/** Has the server write a snapshot into `directory`, counts it, and deletes the file (they are large). */
async function snapshotCensus(server: BenchProcess, directory: string, name: string): Promise<HeapCensus> {
  const path = await server.request<string>('heapSnapshot', join(directory, `${name}.heapsnapshot`));
  try {
    return census(path);
  } finally {
    rmSync(path, { force: true });
  }
}

async function measure({ label, target, env }: HeapTarget, directory: string): Promise<HeapCensus> {
  const script = fileURLToPath(new URL(`./targets/${target}/server.js`, import.meta.url));
  const name = label.replace(/\W+/g, '-');
  const server = await BenchProcess.start(label, script, { core: 0, nodeArgs: ['--expose-gc'], env });
  const origin = `ws://127.0.0.1:${server.port}`;
  const open = async (count: number, into: BenchConnection[]) =>
    forEachLimited(Array.from({ length: count }), 64, async () => {
      into.push(await BenchConnection.open(wireProtocols[target], origin));
    });
  const connections: BenchConnection[] = [];
  try {
    // Warm the connection path first, so that the baseline already holds its code and caches.
    await open(200, connections);
    for (const connection of connections.splice(0)) connection.terminate();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await snapshotCensus(server, directory, `${name}-before`);
    await open(CONNECTIONS, connections);
    // Let every greeting reach its client and every write complete.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await snapshotCensus(server, directory, `${name}-after`);
    return growth(before, after, CONNECTIONS);
  } finally {
    for (const connection of connections) connection.terminate();
    await server.stop();
  }
}

function table(results: Array<{ label: string; grown: HeapCensus }>): string {
  const kinds = new Set(results.flatMap(({ grown }) => [...grown.keys()]));
  const rows: Array<{ kind: string; cells: Array<{ count: number; bytes: number }> }> = [];
  const rest = results.map(() => ({ count: 0, bytes: 0 }));
  for (const kind of kinds) {
    const cells = results.map(({ grown }) => grown.get(kind) ?? { count: 0, bytes: 0 });
    if (cells.some((cell) => Math.abs(cell.bytes) >= MIN_ROW_BYTES)) rows.push({ kind, cells });
    else cells.forEach((cell, index) => (rest[index].bytes += cell.bytes));
  }
  rows.sort((a, b) => Math.max(...b.cells.map((c) => c.bytes)) - Math.max(...a.cells.map((c) => c.bytes)));
  const total = results.map(({ grown }) => [...grown.values()].reduce((sum, cell) => sum + cell.bytes, 0));
  const cell = ({ count, bytes }: { count: number; bytes: number }) => `${bytes.toFixed(0)} B (${count.toFixed(2)})`;
  const lines = [
    `| kind of object | ${results.map(({ label }) => label).join(' | ')} |`,
    `| --- | ${results.map(() => '---').join(' | ')} |`,
    ...rows.map(({ kind, cells }) => `| ${kind} | ${cells.map(cell).join(' | ')} |`),
    `| the rest | ${rest.map(({ bytes }) => `${bytes.toFixed(0)} B`).join(' | ')} |`,
    `| **total** | ${total.map((bytes) => `**${bytes.toFixed(0)} B**`).join(' | ')} |`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'sss-heap-'));
  try {
    const results = [];
    for (const target of TARGETS) results.push({ label: target.label, grown: await measure(target, directory) });
    console.log(
      `JS heap per idle connection, ${CONNECTIONS} connections, Node ${process.version}: bytes (objects) per connection\n`,
    );
    console.log(table(results));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => {
  BenchProcess.killAll();
  process.exit(130);
});

main().catch((error: unknown) => {
  console.error(error);
  BenchProcess.killAll();
  process.exitCode = 1;
});
