import { performance } from 'node:perf_hooks';

/** One thing that happened during the run, at `at` ms after the start. */
export interface SoakEvent {
  at: number;
  kind: string;
  detail: string;
}

/** The run's clock (ms since the start, monotonic) and its log of chaos and phase events. */
export class SoakTimeline {
  readonly events: SoakEvent[] = [];
  private readonly origin = performance.now();

  constructor(private readonly echo: (line: string) => void = () => undefined) {}

  now(): number {
    return performance.now() - this.origin;
  }

  record(kind: string, detail = ''): void {
    const event = { at: Math.round(this.now()), kind, detail };
    this.events.push(event);
    this.echo(`[${(event.at / 1000).toFixed(1).padStart(6)} s] ${kind} ${detail}`);
  }
}
