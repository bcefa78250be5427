import { SssConfigurationError } from '../../errors/sss-configuration.error.js';
import { SssMessages } from '../../sss.messages.js';
import type { MongoRedisScalerOptions } from './mongo-redis-scaler-options.interface.js';

const READ_CONCERNS = ['majority', 'local'];

/** Checks `writeConcern` and `readConcern` before anything connects; a mistake names the option. */
export function validateMongoConcerns(options: MongoRedisScalerOptions): void {
  const { writeConcern, readConcern } = options;
  if (writeConcern !== undefined) {
    if (typeof writeConcern !== 'object' || writeConcern === null || Array.isArray(writeConcern)) {
      fail('writeConcern', 'an object { w?, journal?, wtimeoutMS? }', writeConcern);
    }
    const { w, journal, wtimeoutMS } = writeConcern;
    if (w !== undefined && w !== 'majority' && !(Number.isInteger(w) && w >= 1)) {
      fail('writeConcern.w', "'majority' or an integer from 1", w);
    }
    if (journal !== undefined && typeof journal !== 'boolean') fail('writeConcern.journal', 'a boolean', journal);
    if (wtimeoutMS !== undefined && !(Number.isInteger(wtimeoutMS) && wtimeoutMS >= 0)) {
      fail('writeConcern.wtimeoutMS', 'an integer from 0 (ms)', wtimeoutMS);
    }
  }
  if (readConcern !== undefined && !READ_CONCERNS.includes(readConcern)) {
    fail('readConcern', "'majority' or 'local'", readConcern);
  }
}

function fail(option: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  throw new SssConfigurationError(SssMessages.invalidScalerOption('MongoRedisScaler', option, expected, shown));
}
