import { beforeAll, describe, expect, it } from 'vitest';
import { buildSoak } from './soak-cluster.js';
import { DEFAULT_SOAK_OPTIONS, type SoakOptions } from './soak-options.js';
import { formatReport } from './soak-report.js';
import { runSoak } from './soak.js';

/**
 * The short form of the chaos soak (`npm run soak` is the long one): 24 s at full load with two
 * instance kills, a Redis restart and a 5 s store pause. It asserts the zeros and the recovery
 * bound; publish latency is judged by the long form only (this one shares the machine with the
 * build and the rest of the suite).
 */
const SHORT_FORM: SoakOptions = {
  ...DEFAULT_SOAK_OPTIONS,
  durationSeconds: 24,
  drainSeconds: 8,
  maxPublishP99Ms: 0,
  outDir: '.tmp/soak/short',
};

describe('chaos soak, short form', () => {
  beforeAll(() => buildSoak(), 120_000);

  it(
    'delivers every acknowledged publish exactly once, in order, and every dropped client receives again within 3 s',
    async () => {
      const result = await runSoak(SHORT_FORM);
      console.log(formatReport(result));
      expect(result.checks.filter((check) => !check.pass)).toEqual([]);
    },
    // Startup, 24 s of publishing, publish timeouts and the drain, on a loaded machine.
    240_000,
  );
});
