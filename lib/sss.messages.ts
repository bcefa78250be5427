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
  malformedJson: 'The frame is not valid JSON.',
  notAnObject: 'A frame must be a JSON object with a "t" field.',
  binaryFrame: 'Binary frames are not supported; send JSON text frames.',
  unknownType: (type: unknown) => `Unknown frame type ${JSON.stringify(type)}.`,
  missingId: 'This frame needs a positive integer "id".',
  missingTopic: (max: number) => `"topic" must be a non-empty string of at most ${max} characters.`,
  unknownTopic: (kind: string, topic: string) => `No ${kind} handler for topic "${topic}".`,
  invalidChannel: (max: number) =>
    `"channel" must be a non-empty string of at most ${max} characters, without control characters, not starting with "$".`,
  invalidSince: '"since" must be { "epoch": string, "seq": non-negative integer }.',
  unknownChannel: (channel: string) => `No @Channel pattern matches "${channel}".`,
  alreadySubscribed: (channel: string) => `Already subscribed to "${channel}".`,
  notSubscribed: (channel: string) => `Not subscribed to "${channel}".`,
  subscriptionCancelled: (channel: string) =>
    `The subscription to "${channel}" was ended (unsub or boot) before it was established.`,
  tooManySubscriptions: (max: number) => `A socket may hold at most ${max} subscriptions.`,
  rateLimited: (perSecond: number) => `More than ${perSecond} frames per second; slow down.`,
  handlerTimeout: (ms: number) => `The handler did not answer within ${ms} ms.`,
  forbidden: 'Forbidden resource',
  internal: 'Internal server error',
  unsupportedVersion: (asked: string, spoken: number) =>
    `Unsupported protocol version ${asked}; this server speaks ${spoken}.`,
  shuttingDown: 'Server shutting down; reconnect.',
  tooManySocketsPerAddress: 'Too many connections from this address.',
  booted: 'Booted by the server.',
  storeFailed: 'The message could not be stored, so it was not published. Is MongoDB reachable?',
  storeReadFailed: 'The channel history could not be read. Is MongoDB reachable?',
  storeContention: 'The message could not take a place in the channel order after repeated conflicts; retry.',
  storeUnavailable: 'The history store could not be reached. Is MongoDB reachable?',
  storeNotConnected: 'The history store is not connected yet. Is MongoDB reachable?',
  storeHoles: (channel: string) =>
    `The history of "${channel}" still has missing seqs after they were closed; retry the recovery.`,
  mongoRequired:
    'MongoRedisScaler needs `mongo` (a URI or a Mongoose connection). To store nothing, use RedisScaler (history off).',
  historyOffMoved:
    'MongoRedisScaler({ history: false }) is now RedisScaler({ redis }) from the same entry point: it orders and fans out without storing.',
  epochChanged: 'The channel history was lost; subscribe again and reload.',
  channelBooted: 'Channel closed by the server.',
} as const;
