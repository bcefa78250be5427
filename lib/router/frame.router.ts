import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ChannelHub } from '../channels/channel.hub.js';
import { ChannelSubscription } from '../channels/channel-subscription.js';
import { CredentialRefresher } from '../credentials/credential-refresher.js';
import type { ResolvedSssOptions } from '../interfaces/resolved-options.interface.js';
import type { SssChannelRequest, SssMessageRequest } from '../interfaces/sss-request.interface.js';
import {
  ErrorCode,
  MAX_CREDENTIAL_LENGTH,
  MAX_FRAME_DEPTH,
  RESERVED_CHANNEL_PREFIX,
  type AckFrame,
  type ChannelPosition,
  type ErrorFrame,
  type ResponseFrame,
} from '../protocol/frames.js';
import type { SssSocket } from '../server/sss-socket.js';
import { UNKNOWN_TOPIC_LABEL, type SssMetricsRecorder } from '../metrics/sss-metrics.recorder.js';
import { SSS_METRICS, SSS_RESOLVED_OPTIONS } from '../sss.constants.js';
import { SssMessages } from '../sss.messages.js';
import { SssError } from '../errors/sss.error.js';
import { toErrorFrame } from './error-frame.mapper.js';
import { HandlerRegistry, isDeferred, settleResult, type SssHandler } from './handler.registry.js';
import { HandlerTimeouts } from './handler-timeouts.js';
import { exceedsDepth, exceedsJsonDepth } from './json-depth.js';

type Frame = Record<string, unknown>;

// Control characters (C0, DEL, C1) are not allowed in channel names.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Where a frame is read and routed: it parses and checks every client frame, answers bad input
 * with a documented error, and hands good frames to the handlers or the channel hub.
 */
@Injectable()
export class FrameRouter {
  private readonly logger = new Logger('SssRouter');
  private readonly timeouts: HandlerTimeouts;
  /** Handlers whose unencodable result was logged already (bounded by the number of handlers). */
  private readonly unencodableReported = new Set<string>();

  constructor(
    @Inject(SSS_RESOLVED_OPTIONS) private readonly options: ResolvedSssOptions,
    private readonly registry: HandlerRegistry,
    private readonly hub: ChannelHub,
    @Inject(SSS_METRICS) private readonly metrics: SssMetricsRecorder,
    private readonly credentials: CredentialRefresher,
  ) {
    this.timeouts = new HandlerTimeouts(options.limits.handlerTimeout);
  }

  /** Handles one WebSocket message of a socket. Never throws. */
  route(socket: SssSocket, raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    // Frames a closing socket had already sent are dropped unread (a flooder may have sent many).
    if (!socket.isOpen) return;
    const now = Date.now();
    socket.lastSeenAt = now;
    // Every frame pays, first: what a frame costs to read is what a flood costs.
    const withinBudget = socket.takeRateToken(now);
    if (isBinary)
      return withinBudget ? this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.binaryFrame) : undefined;
    const text = raw.toString();
    let frame: unknown;
    try {
      // NOTE: V8's JSON.parse is not recursive, so any depth parses; recursive code comes later.
      frame = JSON.parse(text);
    } catch {
      return withinBudget ? this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.malformedJson) : undefined;
    }
    if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
      return withinBudget ? this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.notAnObject) : undefined;
    }
    const fields = frame as Frame;
    const id = fields.id;
    const validId = typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
    if (!withinBudget) {
      // Requests are told why they failed; pings and frames without an id are dropped unanswered.
      if (validId === undefined) return;
      return this.fail(
        socket,
        validId,
        ErrorCode.RateLimited,
        SssMessages.rateLimited(this.options.limits.messagesPerSecond),
      );
    }
    if (exceedsDepth(fields, MAX_FRAME_DEPTH)) {
      return this.fail(socket, validId, ErrorCode.BadFrame, SssMessages.tooDeep(MAX_FRAME_DEPTH));
    }
    switch (fields.t) {
      case 'ping':
        return socket.sendRaw('{"t":"pong"}');
      case 'ask':
      case 'tell':
      case 'sub':
      case 'unsub':
      case 'presence':
        if (validId === undefined) return this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.missingId);
        return this.dispatch(socket, fields.t, validId, fields);
      case 'auth': {
        if (validId === undefined) return this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.missingId);
        const credential = fields.credential;
        if (typeof credential !== 'string' || credential.length === 0 || credential.length > MAX_CREDENTIAL_LENGTH) {
          return this.fail(socket, validId, ErrorCode.BadFrame, SssMessages.invalidCredential(MAX_CREDENTIAL_LENGTH));
        }
        return this.credentials.refresh(socket, validId, credential);
      }
      default:
        return this.fail(socket, validId, ErrorCode.UnknownType, SssMessages.unknownType(fields.t));
    }
  }

  /**
   * Handles a WebSocket ping or pong control frame: it costs the budget like any frame, and a
   * ping is answered only within it (RFC 6455 §5.5.3 allows answering only the latest ping).
   */
  control(socket: SssSocket, kind: 'ping' | 'pong', answer: () => void): void {
    if (socket.takeRateToken(Date.now()) && kind === 'ping') answer();
  }

  private dispatch(
    socket: SssSocket,
    type: 'ask' | 'tell' | 'sub' | 'unsub' | 'presence',
    id: number,
    frame: Frame,
  ): void {
    if (type === 'ask' || type === 'tell') return this.handleMessage(socket, type, id, frame);
    const channel = frame.channel;
    const { maxChannelLength } = this.options.limits;
    if (
      typeof channel !== 'string' ||
      channel.length === 0 ||
      channel.length > maxChannelLength ||
      channel.startsWith(RESERVED_CHANNEL_PREFIX) ||
      CONTROL_CHARACTERS.test(channel)
    ) {
      return this.fail(socket, id, ErrorCode.InvalidChannel, SssMessages.invalidChannel(maxChannelLength));
    }
    if (type === 'unsub') return this.handleUnsubscribe(socket, id, channel);
    if (type === 'presence') return this.handlePresence(socket, id, channel);
    this.handleSubscribe(socket, id, channel, frame);
  }

  private handleMessage(socket: SssSocket, kind: 'ask' | 'tell', id: number, frame: Frame): void {
    const topic = frame.topic;
    const { maxTopicLength } = this.options.limits;
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > maxTopicLength) {
      return this.fail(socket, id, ErrorCode.BadFrame, SssMessages.missingTopic(maxTopicLength));
    }
    const source = kind === 'ask' ? this.registry.findAsk(topic) : this.registry.findTell(topic);
    if (!source) {
      // The client's topic never becomes a label value: hostile topics cannot grow the registry.
      this.metrics.handled(kind, UNKNOWN_TOPIC_LABEL, 'unknown_topic', 0);
      return this.fail(socket, id, ErrorCode.UnknownTopic, SssMessages.unknownTopic(kind, topic));
    }
    const request: SssMessageRequest = { kind, topic };
    const handlerName = () => `@${kind === 'ask' ? 'OnAsk' : 'OnTell'}('${topic}') ${source.name}`;
    const startedAt = this.metrics.enabled ? performance.now() : 0;
    this.run(
      source.handler,
      [socket, frame.data, request, topic],
      (result) => {
        this.metrics.handled(kind, topic, 'ok', startedAt);
        this.answer(socket, kind === 'ask' ? { t: 'res', id, data: result } : { t: 'ack', id }, handlerName);
      },
      (error) => {
        const timedOut = error instanceof SssError && error.code === ErrorCode.Timeout;
        this.metrics.handled(kind, topic, timedOut ? 'timeout' : 'error', startedAt);
        this.answer(socket, toErrorFrame(id, error, this.logger), handlerName);
      },
    );
  }

  private handleSubscribe(socket: SssSocket, id: number, channel: string, frame: Frame): void {
    if (socket.subscriptions.has(channel)) {
      return this.fail(socket, id, ErrorCode.AlreadySubscribed, SssMessages.alreadySubscribed(channel));
    }
    const { maxSubscriptionsPerSocket } = this.options.limits;
    if (socket.subscriptions.size >= maxSubscriptionsPerSocket) {
      return this.fail(
        socket,
        id,
        ErrorCode.TooManySubscriptions,
        SssMessages.tooManySubscriptions(maxSubscriptionsPerSocket),
      );
    }
    const since = readPosition(frame.since);
    if (since === null) return this.fail(socket, id, ErrorCode.BadFrame, SssMessages.invalidSince);
    const matched = this.registry.matchChannel(channel);
    if (!matched) return this.fail(socket, id, ErrorCode.UnknownChannel, SssMessages.unknownChannel(channel));
    // Reserve the name now, so that a second `sub` racing this one is refused.
    const subscription = new ChannelSubscription(socket, channel, matched.route.presence, frame.query);
    socket.subscriptions.set(channel, subscription);
    const request: SssChannelRequest = {
      kind: 'channel',
      channel,
      pattern: matched.route.pattern,
      params: matched.params,
      query: frame.query,
      since,
    };
    const refuse = (error: unknown) => {
      this.hub.detach(subscription);
      this.answer(
        socket,
        toErrorFrame(id, error, this.logger),
        () => `@Channel('${matched.route.pattern}') ${matched.route.name}`,
      );
    };
    this.run(
      matched.route.handler,
      [socket, frame.query, request, matched.route.pattern],
      (data) => {
        // An `unsub` (or a boot) came first: the client still gets an answer to its `sub`.
        if (socket.subscriptions.get(channel) !== subscription) {
          return this.fail(socket, id, ErrorCode.Cancelled, SssMessages.subscriptionCancelled(channel));
        }
        this.hub.attach(subscription, id, since, data).catch(refuse);
      },
      refuse,
    );
  }

  private handleUnsubscribe(socket: SssSocket, id: number, channel: string): void {
    const subscription = socket.subscriptions.get(channel);
    if (!subscription) return this.fail(socket, id, ErrorCode.NotSubscribed, SssMessages.notSubscribed(channel));
    this.hub.detach(subscription);
    socket.send({ t: 'ack', id });
  }

  /** Answers who is on a presence-tracked channel, to a socket whose subscription to it was answered. */
  private handlePresence(socket: SssSocket, id: number, channel: string): void {
    const subscription = socket.subscriptions.get(channel);
    // A subscription still waiting for its guards or its `subbed` does not count yet.
    if (!subscription || subscription.backlog !== null) {
      return this.fail(socket, id, ErrorCode.NotSubscribed, SssMessages.notSubscribed(channel));
    }
    if (!subscription.presence) return this.fail(socket, id, ErrorCode.PresenceOff, SssMessages.presenceOff(channel));
    this.hub.membersJson(subscription).then(
      (members) => socket.sendRaw(`{"t":"res","id":${id},"data":${members}}`),
      (error: unknown) => socket.send(toErrorFrame(id, error, this.logger)),
    );
  }

  /**
   * Runs a handler with a time limit: exactly one of `onResult` and `onError` is called, with the
   * result (an Observable's last value) or what the handler threw or rejected with; `onError` with
   * TIMEOUT when the limit passes first (a later result is then discarded). A plain value returned
   * by a handler called directly is answered at once: no Promise, no clock.
   */
  private run(
    handler: SssHandler,
    args: unknown[],
    onResult: (result: unknown) => void,
    onError: (error: unknown) => void,
  ): void {
    let returned: unknown;
    try {
      returned = handler(...args);
    } catch (error) {
      return this.settle(() => onError(error));
    }
    if (!isDeferred(returned)) return this.settle(() => onResult(returned));
    const timeoutMs = this.options.limits.handlerTimeout;
    const pending = this.timeouts.start(() =>
      onError(new SssError(ErrorCode.Timeout, SssMessages.handlerTimeout(timeoutMs))),
    );
    settleResult(returned)
      .then(
        (result) => {
          if (this.timeouts.finish(pending)) onResult(result);
        },
        (error: unknown) => {
          if (this.timeouts.finish(pending)) onError(error);
        },
      )
      // The last line of defence: nothing that happens after a handler may become an unhandled rejection.
      .catch((error: unknown) => this.logger.error(describeError(error)));
  }

  /** Calls what answers a handler's outcome; nothing it throws may escape the router. */
  private settle(answer: () => void): void {
    try {
      answer();
    } catch (error) {
      this.logger.error(describeError(error));
    }
  }

  /**
   * Sends the answer to a request. A result that JSON cannot encode (a BigInt, a circular
   * reference, a throwing `toJSON`, a value too deep for the stack) becomes INTERNAL_ERROR, logged
   * once per handler so that a hot handler cannot flood the log.
   */
  private answer(socket: SssSocket, frame: ResponseFrame | AckFrame | ErrorFrame, describeHandler: () => string): void {
    let text: string;
    try {
      text = JSON.stringify(frame);
      // Newer V8 versions encode any depth without a RangeError; clients' parsers may not.
      if (exceedsJsonDepth(text, MAX_RESULT_DEPTH)) throw new RangeError(SssMessages.tooDeep(MAX_RESULT_DEPTH));
    } catch (error) {
      const handlerName = describeHandler();
      if (!this.unencodableReported.has(handlerName)) {
        this.unencodableReported.add(handlerName);
        this.logger.error(
          `${SssMessages.unencodableResult(handlerName)} (${error instanceof Error ? error.message : typeof error})`,
        );
      }
      const internal: ErrorFrame = { t: 'err', id: frame.id, code: ErrorCode.Internal, message: SssMessages.internal };
      text = JSON.stringify(internal);
    }
    socket.sendRaw(text);
  }

  private fail(socket: SssSocket, id: number | undefined, code: string, message: string): void {
    const frame: ErrorFrame = { t: 'err', code, message };
    if (id !== undefined) frame.id = id;
    socket.send(frame);
  }
}

/** The deepest answer sent (what a client's JSON parser must walk); deeper results are INTERNAL_ERROR. */
const MAX_RESULT_DEPTH = 512;

/** `undefined` when absent, `null` when present but malformed. */
function readPosition(value: unknown): ChannelPosition | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') return null;
  const { epoch, seq } = value as Record<string, unknown>;
  if (typeof epoch !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return null;
  return { epoch, seq };
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : `Non-error thrown: ${typeof error}`;
}
