import { SssConfigurationError } from '../errors/sss-configuration.error.js';
import { SssMessages } from '../sss.messages.js';

/** The prom-client module. */
export type PromClient = typeof import('prom-client');

/**
 * Loads prom-client, an optional peer dependency, only when metrics are on: an app without
 * metrics never needs it installed. Missing, it fails startup saying what to install.
 */
export async function loadPromClient(specifier = 'prom-client'): Promise<PromClient> {
  let loaded: PromClient & { default?: PromClient };
  try {
    loaded = (await import(specifier)) as PromClient & { default?: PromClient };
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new SssConfigurationError(SssMessages.promClientMissing(specifier));
    }
    throw error;
  }
  // prom-client is CommonJS: its exports are the default export, and usually named ones too.
  return loaded.default ?? loaded;
}
