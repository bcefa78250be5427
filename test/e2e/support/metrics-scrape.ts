/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A `/metrics` answer, parsed. */
export class Scrape {
  readonly samples: Sample[];

  constructor(readonly text: string) {
    this.samples = [];
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`Not a Prometheus sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
      this.samples.push({ name: match[1], labels, value: Number(match[3]) });
    }
  }

  /** The value of the sample with exactly these labels (0 when there is none, as for a counter never touched). */
  value(name: string, labels: Record<string, string> = {}): number {
    const wanted = Object.entries(labels);
    const sample = this.samples.find(
      (candidate) =>
        candidate.name === name &&
        Object.keys(candidate.labels).length === wanted.length &&
        wanted.every(([key, value]) => candidate.labels[key] === value),
    );
    return sample?.value ?? 0;
  }

  /** Every sample of a metric. */
  series(name: string): Sample[] {
    return this.samples.filter((sample) => sample.name === name);
  }
}

/** GETs `/metrics` of an app. */
export async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return new Scrape(await response.text());
}
