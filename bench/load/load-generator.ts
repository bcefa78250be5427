/**
 * The load generator: a process of its own, pinned to the core the servers do not use, driven by
 * the runner over IPC (see ../support/control.ts). It measures the servers' CPU itself, from
 * /proc, at the exact edges of its measuring window.
 */
import { announceReady, serveControl } from '../support/control.js';
import { runAsk } from './ask.load.js';
import { runClientLibrary } from './client-library.load.js';
import { runFanOut } from './fan-out.load.js';
import { IdlePool } from './idle.load.js';
import type {
  AskParams,
  ClientLibraryParams,
  FanOutParams,
  IdleOpenParams,
  PublishCostParams,
  RecoveryParams,
} from './load-params.js';
import { runPublishCost } from './publish-cost.load.js';
import { runRecovery } from './recovery.load.js';

const idle = new IdlePool();

serveControl({
  ask: (params) => runAsk(params as AskParams),
  fanOut: (params) => runFanOut(params as FanOutParams),
  recovery: (params) => runRecovery(params as RecoveryParams),
  clientLibrary: (params) => runClientLibrary(params as ClientLibraryParams),
  publishCost: (params) => runPublishCost(params as PublishCostParams),
  openIdle: (params) => idle.open(params as IdleOpenParams),
  closeIdle: () => idle.closeAll(),
});
announceReady(0);
