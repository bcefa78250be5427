import { beforeAll, describe, expect, it } from 'vitest';
import { buildSoak } from './soak-cluster.js';
import { DEFAULT_SOAK_OPTIONS, type SoakOptions } from './soak-options.js';
import { formatReport } from './soak-report.js';
import { runSoak } from './soak.js';

/**
 * The short form of the chaos soak (`npm run soak` is the long one): 24 s at full load with two
 * instance kills, a Redis restart and a 5 s store pause. It asserts the zeros (nothing acknowledged
 * lost, duplicated, reordered or skipped, no disagreement) and reports the recovery time and the
 * publish latency, which the long form judges (this one shares the machine with the build and the
 * rest of the suite).
 */
const SHORT_FORM: SoakOptions = {
  ...DEFAULT_SOAK_OPTIONS,
  durationSeconds: 24,
  drainSeconds: 8,
  // Judged by the long form (see RELIABILITY.md: not met yet on FerretDB on a 2-core machine);
  // reported here.
  maxRecoveryMs: 0,
  maxPublishP99Ms: 0,
  outDir: '.tmp/soak/short',
};

describe('chaos soak, short form', () => {
  beforeAll(() => buildSoak(), 120_000);

  it(
    'delivers every acknowledged publish exactly once, in order, to every subscriber, through kills, a Redis restart and a store pause',
    async () => {
      const result = await runSoak(SHORT_FORM);
      console.log(formatReport(result));
      expect(result.checks.filter((check) => !check.pass)).toEqual([]);
    },
    // Startup, 24 s of publishing, publish timeouts and the drain, on a loaded machine.
    240_000,
  );
});
