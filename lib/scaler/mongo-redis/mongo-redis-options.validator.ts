import { SssConfigurationError } from '../../errors/sss-configuration.error.js';
import { SssMessages } from '../../sss.messages.js';
import type { MongoRedisScalerOptions } from './mongo-redis-scaler-options.interface.js';

const READ_CONCERNS = ['majority', 'local'];
/** The largest `minInsertInterval` (ms). */
export const MAX_INSERT_INTERVAL_MS = 1_000;

/**
 * Checks the options only `MongoRedisScaler` has (the Redis connection is checked by
 * `validateRedisConnection`) before anything connects; a mistake names the option.
 */
export function validateMongoRedisOptions(options: MongoRedisScalerOptions): void {
  validateConcerns(options);
  validateWholeNumber(
    options,
    'recentInRedis',
    0,
    'a whole number of messages, 0 or more (0 turns the Redis window off)',
  );
  validateWholeNumber(options, 'maxBatchSize', 1, 'a whole number of messages, 1 or more');
  validateWholeNumber(options, 'maxConcurrentReads', 1, 'a whole number of queries, 1 or more');
  validateWholeNumber(
    options,
    'minInsertInterval',
    0,
    `a whole number of ms from 0 to ${MAX_INSERT_INTERVAL_MS}`,
    MAX_INSERT_INTERVAL_MS,
  );
}

/** Unset, or a whole number in [min, max]. */
function validateWholeNumber(
  options: MongoRedisScalerOptions,
  option: 'recentInRedis' | 'maxBatchSize' | 'maxConcurrentReads' | 'minInsertInterval',
  min: number,
  expected: string,
  max = Infinity,
): void {
  const value = options[option];
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) fail(option, expected, value);
}

function validateConcerns(options: MongoRedisScalerOptions): void {
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
