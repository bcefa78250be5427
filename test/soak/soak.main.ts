/**
 * `npm run soak`: the chaos soak, long form. Options as flags or SOAK_* variables (`--help`);
 * exits 0 when every check passed, 1 when one failed, 2 when the run could not be made.
 */
import { formatReport } from './soak-report.js';
import { parseSoakOptions } from './soak-options.js';
import { runSoak } from './soak.js';

async function main(): Promise<number> {
  let options;
  try {
    options = parseSoakOptions(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  try {
    const result = await runSoak(options);
    console.log(formatReport(result));
    return result.pass ? 0 : 1;
  } catch (error) {
    console.error(`The soak could not run: ${(error as Error).stack ?? error}`);
    return 2;
  }
}

void main().then((code) => process.exit(code));
