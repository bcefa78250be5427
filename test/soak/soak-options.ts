/** Everything a soak run can be told; each field can be set by a flag or an environment variable. */
export interface SoakOptions {
  /** How long the publishers publish, in s. Default 60 (`--duration`, `SOAK_DURATION`). */
  durationSeconds: number;
  /** Publishes per second over all publishers. Default 300 (`--rate`, `SOAK_RATE`). */
  publishRate: number;
  /** Subscribing clients, connected through nginx. Default 120 (`--clients`, `SOAK_CLIENTS`). */
  clients: number;
  /** Channels (`soak/0` …). Default 10 (`--channels`, `SOAK_CHANNELS`). */
  channels: number;
  /** Channels each client subscribes to. Default 3 (`--subscriptions-per-client`, `SOAK_SUBSCRIPTIONS_PER_CLIENT`). */
  subscriptionsPerClient: number;
  /** Publishers, each connected straight to a different instance. Default 3 (`--publishers`, `SOAK_PUBLISHERS`). */
  publishers: number;
  /** Nest instances, each a process of its own. Default 3 (`--instances`, `SOAK_INSTANCES`). */
  instances: number;
  /** SIGKILL (and restart) one instance every this many s, round robin; 0 disables. Default 8 (`--kill-interval`, `SOAK_KILL_INTERVAL`). */
  killIntervalSeconds: number;
  /** Restart Redis (empty, no persistence) once, at 45% of the run. Default true (`--no-redis-restart`, `SOAK_REDIS_RESTART=0`). */
  redisRestart: boolean;
  /** Pause the store (SIGSTOP, then SIGCONT) this many s, once, at 65% of the run; 0 disables. Default 5 (`--store-pause`, `SOAK_STORE_PAUSE`). */
  storePauseSeconds: number;
  /**
   * nginx `max_fails` per upstream (with `fail_timeout=2s`); 0 never marks an upstream down and just
   * moves on after a refused connect. Default 0 (`--nginx-max-fails`, `SOAK_NGINX_MAX_FAILS`); see RELIABILITY.md.
   */
  nginxMaxFails: number;
  /** Wait at least this long after the last publish before the verdict, in s. Default 8 (`--drain`, `SOAK_DRAIN`). */
  drainSeconds: number;
  /**
   * Then keep waiting, up to this many s after the last publish, while acknowledged messages are still
   * undelivered (a slow recovery is late, not lost). Default 60 (`--max-drain`, `SOAK_MAX_DRAIN`).
   */
  maxDrainSeconds: number;
  /** A publish without an answer within this many ms counts as failed. Default 10000 (`--publish-timeout`, `SOAK_PUBLISH_TIMEOUT`). */
  publishTimeoutMs: number;
  /** Verdict: worst time from a client's drop to its next delivery, in ms; 0 reports it without judging. Default 3000 (`--max-recovery`, `SOAK_MAX_RECOVERY`). */
  maxRecoveryMs: number;
  /** Verdict: publish p99 on surviving instances outside the store pause, in ms; 0 disables. Default 250 (`--max-publish-p99`, `SOAK_MAX_PUBLISH_P99`). */
  maxPublishP99Ms: number;
  /** Verdict: at least this share of the planned publishes must be acknowledged, so that an idle run cannot pass. Default 0.5 (`--min-acked`, `SOAK_MIN_ACKED`). */
  minAckedRatio: number;
  /** Where the JSON result goes. Default `.tmp/soak` (`--out`, `SOAK_OUT`). */
  outDir: string;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = {
  durationSeconds: 60,
  publishRate: 300,
  clients: 120,
  channels: 10,
  subscriptionsPerClient: 3,
  publishers: 3,
  instances: 3,
  killIntervalSeconds: 8,
  redisRestart: true,
  storePauseSeconds: 5,
  nginxMaxFails: 0,
  drainSeconds: 8,
  maxDrainSeconds: 60,
  publishTimeoutMs: 10_000,
  maxRecoveryMs: 3_000,
  maxPublishP99Ms: 250,
  minAckedRatio: 0.5,
  outDir: '.tmp/soak',
};

type NumericOption = { [K in keyof SoakOptions]: SoakOptions[K] extends number ? K : never }[keyof SoakOptions];

/** Flag names (also `SOAK_` + upper snake case in the environment) of the numeric options. */
const NUMERIC_FLAGS: Record<string, NumericOption> = {
  duration: 'durationSeconds',
  rate: 'publishRate',
  clients: 'clients',
  channels: 'channels',
  'subscriptions-per-client': 'subscriptionsPerClient',
  publishers: 'publishers',
  instances: 'instances',
  'kill-interval': 'killIntervalSeconds',
  'store-pause': 'storePauseSeconds',
  'nginx-max-fails': 'nginxMaxFails',
  drain: 'drainSeconds',
  'max-drain': 'maxDrainSeconds',
  'publish-timeout': 'publishTimeoutMs',
  'max-recovery': 'maxRecoveryMs',
  'max-publish-p99': 'maxPublishP99Ms',
  'min-acked': 'minAckedRatio',
};

const USAGE = `npm run soak -- [options]    (each option also as SOAK_<NAME> in the environment)
  --duration=S                 seconds of publishing (60)
  --rate=N                     publishes per second, all publishers together (300)
  --clients=N                  subscribing clients through nginx (120)
  --channels=N                 channels (10)
  --subscriptions-per-client=N (3)
  --publishers=N               publishers, one per instance, round robin (3)
  --instances=N                Nest instances (3)
  --kill-interval=S            SIGKILL + restart an instance every S seconds; 0 = never (8)
  --no-kill                    same as --kill-interval=0
  --no-redis-restart           no Redis restart (SOAK_REDIS_RESTART=0)
  --store-pause=S              SIGSTOP the store for S seconds once; 0 = never (5)
  --no-store-pause             same as --store-pause=0
  --no-chaos                   no kills, no Redis restart, no store pause (SOAK_CHAOS=0)
  --nginx-max-fails=N          nginx max_fails per upstream, fail_timeout=2s; 0 = never marked down (0)
  --drain=S                    seconds to wait at least after the last publish (8)
  --max-drain=S                ... and at most, while messages are missing (60)
  --publish-timeout=MS         a publish unanswered after MS counts as failed (10000)
  --max-recovery=MS            verdict: worst drop-to-next-delivery (3000)
  --max-publish-p99=MS         verdict: publish p99 on survivors outside the store pause; 0 = off (250)
  --min-acked=R                verdict: share of planned publishes acknowledged at least (0.5)
  --out=DIR                    where the JSON result goes (.tmp/soak)`;

/** Reads the options from `--flag=value` arguments over `SOAK_*` environment variables over the defaults. */
export function parseSoakOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  defaults: SoakOptions = DEFAULT_SOAK_OPTIONS,
): SoakOptions {
  const options = { ...defaults };
  const set = (flag: string, value: string, source: string) => {
    const key = NUMERIC_FLAGS[flag];
    if (!key) throw new Error(`Unknown soak option ${source}.\n${USAGE}`);
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < 0) {
      throw new Error(`${source} must be a number ≥ 0, got "${value}".`);
    }
    options[key] = number;
  };
  for (const flag of Object.keys(NUMERIC_FLAGS)) {
    const name = `SOAK_${flag.toUpperCase().replaceAll('-', '_')}`;
    if (env[name] !== undefined) set(flag, env[name]!, name);
  }
  if (env.SOAK_OUT) options.outDir = env.SOAK_OUT;
  if (env.SOAK_REDIS_RESTART === '0') options.redisRestart = false;
  if (env.SOAK_CHAOS === '0') disableChaos(options);
  for (const argument of argv) {
    if (argument === '--help' || argument === '-h') throw new Error(USAGE);
    if (argument === '--no-chaos') disableChaos(options);
    else if (argument === '--no-kill') options.killIntervalSeconds = 0;
    else if (argument === '--no-redis-restart') options.redisRestart = false;
    else if (argument === '--no-store-pause') options.storePauseSeconds = 0;
    else {
      const match = /^--([a-z0-9-]+)=(.*)$/.exec(argument);
      if (!match) throw new Error(`Cannot read soak option "${argument}".\n${USAGE}`);
      if (match[1] === 'out') options.outDir = match[2];
      else set(match[1], match[2], `--${match[1]}`);
    }
  }
  for (const key of ['clients', 'channels', 'subscriptionsPerClient', 'publishers', 'instances'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) throw new Error(`${key} must be a whole number ≥ 1.`);
  }
  if (options.subscriptionsPerClient > options.channels) {
    throw new Error('subscriptionsPerClient cannot exceed channels.');
  }
  return options;
}

/** Whether any chaos element is on. */
export function hasChaos(options: SoakOptions): boolean {
  return options.killIntervalSeconds > 0 || options.redisRestart || options.storePauseSeconds > 0;
}

function disableChaos(options: SoakOptions): void {
  options.killIntervalSeconds = 0;
  options.redisRestart = false;
  options.storePauseSeconds = 0;
}
