// How much of a client's string an error message quotes.
const QUOTED_CHARACTERS = 64;

/**
 * A short, safe description of a value a client sent, for an error message: a string is quoted
 * (and cut), anything else is named by its type. NOTE: never JSON.stringify client input here: a
 * deeply nested value overflows the stack, and a big one makes a big message.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const quoted = value.length > QUOTED_CHARACTERS ? `${value.slice(0, QUOTED_CHARACTERS)}…` : value;
    return `"${quoted}"`;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? 'an object'
    : typeof value === 'undefined'
      ? 'undefined'
      : String(value).slice(0, 32);
}

/** User-facing messages, in one place so that they stay consistent and say what to do. */
export const SssMessages = {
  duplicateAskTopic: (topic: string, first: string, second: string) =>
    `@OnAsk('${topic}') is declared twice (${first} and ${second}); each ask topic needs exactly one handler.`,
  duplicateTellTopic: (topic: string, first: string, second: string) =>
    `@OnTell('${topic}') is declared twice (${first} and ${second}); each tell topic needs exactly one handler.`,
  duplicateChannelPattern: (pattern: string, first: string, second: string) =>
    `@Channel('${pattern}') is declared twice (${first} and ${second}); each channel pattern needs exactly one handler.`,
  invalidChannelPattern: (pattern: string, cause: string) =>
    `@Channel('${pattern}') is not a valid pattern (${cause}). Use segments such as 'room/:id'.`,
  noHttpServer:
    'SssModule needs an HTTP server to attach to. Create the app with NestFactory.create() (not createApplicationContext) or use SssPublisher alone.',
  unresolvableSessionGuard: (name: string) =>
    `The session guard ${name} could not be created. Register it as a provider (or make its dependencies available to SssModule through "imports").`,
  requestScopedGateway: (name: string) =>
    `${name} is a request-scoped @SssGateway (or depends on a request-scoped provider). One gateway instance serves every socket: make ${name} and its dependencies singletons (the default scope).`,
  filterReturnIgnored: (name: string) =>
    `The exception filter ${name} returned a value for a failed SSS handler; it is ignored and the client still gets an error. A filter changes that error by throwing (extend BaseSssExceptionFilter).`,
  invalidOption: (option: string, expected: string, got: string) =>
    `SssModule: ${option} must be ${expected}; got ${got}.`,
  retentionWithCustomScaler:
    "SssModule: `retention` configures the embedded scaler only, and `scaler` is set. Move the retention into the scaler's own options (e.g. new MongoRedisScaler({ retention })) and remove the module-level `retention`.",
  invalidSessionId: (max: number) =>
    `Session data needs a session id (a non-empty string of at most ${max} characters): set handshake.sessionId in a session guard.`,
  noSessionId: 'This socket has no session id, so it has no session data: set handshake.sessionId in a session guard.',
  invalidSessionKey: (max: number) => `A session key must be a non-empty string of at most ${max} characters.`,
  invalidSessionTtl: (max: number) => `A session ttlMs must be a positive integer of at most ${max} ms.`,
  sessionValueNotJson: (key: string, cause: string) =>
    `The session value for ${describeValue(key)} cannot be stored as JSON (${cause}); use plain data.`,
  sessionValueTooLarge: (key: string, max: number) =>
    `The session value for ${describeValue(key)} is larger than ${max} bytes as JSON; store less (or a reference to it).`,
  tooManySessionKeys: (max: number) =>
    `This session already holds ${max} keys; delete some (or let them expire) before setting new ones.`,
  invalidPresenceInfo: (max: number) =>
    `handshake.presence must be a plain object whose JSON is at most ${max} bytes; expose fewer fields.`,
  invalidScalerOption: (option: string, expected: string) => `Scaler option ${option} must be ${expected}.`,
  malformedJson: 'The frame is not valid JSON.',
  notAnObject: 'A frame must be a JSON object with a "t" field.',
  binaryFrame: 'Binary frames are not supported; send JSON text frames.',
  unknownType: (type: unknown) =>
    `Unknown frame type ${describeValue(type)}; expected ask, tell, sub, unsub, presence or ping.`,
  tooDeep: (maxDepth: number) =>
    `The frame nests arrays and objects more than ${maxDepth} levels deep (the frame itself is level 1); flatten the payload.`,
  missingId: 'This frame needs a positive integer "id".',
  missingTopic: (max: number) => `"topic" must be a non-empty string of at most ${max} characters.`,
  unknownTopic: (kind: string, topic: string) => `No ${kind} handler for topic ${describeValue(topic)}.`,
  invalidChannel: (max: number) =>
    `"channel" must be a non-empty string of at most ${max} characters, without control characters, not starting with "$".`,
  invalidSince: '"since" must be { "epoch": string, "seq": non-negative integer }.',
  unknownChannel: (channel: string) => `No @Channel pattern matches ${describeValue(channel)}.`,
  alreadySubscribed: (channel: string) => `Already subscribed to ${describeValue(channel)}.`,
  presenceOff: (channel: string) =>
    `${describeValue(channel)} does not track presence; declare its pattern with @Channel(pattern, { presence: true }).`,
  notSubscribed: (channel: string) => `Not subscribed to ${describeValue(channel)}.`,
  subscriptionCancelled: (channel: string) =>
    `The subscription to ${describeValue(channel)} was ended (unsub or boot) before it was established.`,
  tooManySubscriptions: (max: number) => `A socket may hold at most ${max} subscriptions.`,
  rateLimited: (perSecond: number) => `More than ${perSecond} frames per second; slow down.`,
  flooding: 'Too many frames while over the rate limit.',
  handlerTimeout: (ms: number) => `The handler did not answer within ${ms} ms.`,
  forbidden: 'Forbidden resource',
  internal: 'Internal server error',
  unencodableResult: (what: string) =>
    `The result of ${what} cannot be encoded as JSON (a BigInt, a circular reference, a throwing toJSON or too deep); the client got INTERNAL_ERROR. Return plain JSON values. This is logged once per handler.`,
  listenerFailed: 'A frame could not be handled; the client got INTERNAL_ERROR.',
  unsupportedVersion: (asked: string, spoken: number) =>
    `Unsupported protocol version ${asked}; this server speaks ${spoken}.`,
  shuttingDown: 'Server shutting down; reconnect.',
  tooManySocketsPerAddress: 'Too many connections from this address.',
  noEndpointAtPath: 'No WebSocket endpoint at this path.',
  originNotAllowed: 'Origin not allowed.',
  sessionCheckTimeout: 'The session check did not finish in time; retry.',
  booted: 'Booted by the server.',
  storeFailed: 'The message could not be stored, so it was not published. Is MongoDB reachable?',
  storeReadFailed: 'The channel history could not be read. Is MongoDB reachable?',
  storeContention: 'The message could not take a place in the channel order after repeated conflicts; retry.',
  storeUnavailable: 'The history store could not be reached. Is MongoDB reachable?',
  scalerClosed: 'The scaler was closed before the message was stored.',
  storeNotConnected: 'The history store is not connected yet. Is MongoDB reachable?',
  storeHoles: (channel: string) =>
    `The history of "${channel}" still has missing seqs after they were closed; retry the recovery.`,
  mongoRequired:
    'MongoRedisScaler needs `mongo` (a URI or a Mongoose connection). To store nothing, use RedisScaler (history off).',
  historyOffMoved:
    'MongoRedisScaler({ history: false }) is now RedisScaler({ redis }) from the same entry point: it orders and fans out without storing.',
  epochChanged: 'The channel history was lost; subscribe again and reload.',
  channelBooted: 'Channel closed by the server.',
  clusterScalerOutsideCluster:
    'ClusterScaler runs in a worker started by SssCluster.run(bootstrap) (the primary is its broker); this process is not one. Start the app with SssCluster.run, or use another scaler.',
  clusterScalerTimeout: (got: string) =>
    `ClusterScaler: requestTimeout must be a positive integer (ms) of at most 2147483647; got ${got}.`,
  clusterPrimaryUnreachable: 'The cluster primary (which orders and stores messages) cannot be reached.',
  clusterPrimaryTimeout: (ms: number) => `The cluster primary did not answer within ${ms} ms.`,
  clusterInForeignWorker:
    'SssCluster.run was called in a cluster worker it did not fork (a process manager in cluster mode, such as pm2 -i?). SssCluster.run forks the workers itself: start the app as one plain process.',
  invalidClusterOption: (option: string, expected: string, got: string) =>
    `SssCluster: ${option} must be ${expected}; got ${got}.`,
} as const;
