import { Inject, Injectable, Logger } from '@nestjs/common';
import { ChannelHub } from '../channels/channel.hub.js';
import { ChannelSubscription } from '../channels/channel-subscription.js';
import type { ResolvedSssOptions } from '../interfaces/resolved-options.interface.js';
import type { SssChannelRequest, SssMessageRequest } from '../interfaces/sss-request.interface.js';
import { ErrorCode, RESERVED_CHANNEL_PREFIX, type ChannelPosition, type ErrorFrame } from '../protocol/frames.js';
import type { SssSocket } from '../server/sss-socket.js';
import { SSS_RESOLVED_OPTIONS } from '../sss.constants.js';
import { SssMessages } from '../sss.messages.js';
import { SssError } from '../errors/sss.error.js';
import { toErrorFrame } from './error-frame.mapper.js';
import { HandlerRegistry, type SssHandler } from './handler.registry.js';

type Frame = Record<string, unknown>;

/** A handler that has not answered yet. */
interface HandlerRun {
  /** When it fails with TIMEOUT (ms since epoch). */
  deadline: number;
  onError(error: unknown): void;
}

// Control characters (C0, DEL, C1) are not allowed in channel names.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Where a frame is read and routed: it parses and checks every client frame, answers bad input
 * with a documented error, and hands good frames to the handlers or the channel hub.
 */
@Injectable()
export class FrameRouter {
  private readonly logger = new Logger('SssRouter');
  /**
   * Handlers still running, in start order. They all have the same time limit, so the oldest is
   * always the next to expire: one timer, armed for the oldest, instead of a timer per request.
   */
  private readonly runs = new Set<HandlerRun>();
  private timeoutTimer?: NodeJS.Timeout;

  constructor(
    @Inject(SSS_RESOLVED_OPTIONS) private readonly options: ResolvedSssOptions,
    private readonly registry: HandlerRegistry,
    private readonly hub: ChannelHub,
  ) {}

  /** Handles one WebSocket message of a socket. Never throws. */
  route(socket: SssSocket, raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const now = Date.now();
    socket.lastSeenAt = now;
    if (isBinary) return this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.binaryFrame);
    let frame: unknown;
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      return this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.malformedJson);
    }
    if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
      return this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.notAnObject);
    }
    const fields = frame as Frame;
    if (fields.t === 'ping') return socket.sendRaw('{"t":"pong"}');
    const id = fields.id;
    const validId = typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
    if (!socket.takeRateToken(now)) {
      return this.fail(
        socket,
        validId,
        ErrorCode.RateLimited,
        SssMessages.rateLimited(this.options.limits.messagesPerSecond),
      );
    }
    switch (fields.t) {
      case 'ask':
      case 'tell':
      case 'sub':
      case 'unsub':
        if (validId === undefined) return this.fail(socket, undefined, ErrorCode.BadFrame, SssMessages.missingId);
        return this.dispatch(socket, fields.t, validId, fields);
      default:
        return this.fail(socket, validId, ErrorCode.UnknownType, SssMessages.unknownType(fields.t));
    }
  }

  private dispatch(socket: SssSocket, type: 'ask' | 'tell' | 'sub' | 'unsub', id: number, frame: Frame): void {
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
    this.handleSubscribe(socket, id, channel, frame);
  }

  private handleMessage(socket: SssSocket, kind: 'ask' | 'tell', id: number, frame: Frame): void {
    const topic = frame.topic;
    const { maxTopicLength } = this.options.limits;
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > maxTopicLength) {
      return this.fail(socket, id, ErrorCode.BadFrame, SssMessages.missingTopic(maxTopicLength));
    }
    const source = kind === 'ask' ? this.registry.findAsk(topic) : this.registry.findTell(topic);
    if (!source) return this.fail(socket, id, ErrorCode.UnknownTopic, SssMessages.unknownTopic(kind, topic));
    const request: SssMessageRequest = { kind, topic };
    this.run(
      source.handler,
      [socket, frame.data, request, topic],
      (result) => socket.send(kind === 'ask' ? { t: 'res', id, data: result } : { t: 'ack', id }),
      (error) => socket.send(toErrorFrame(id, error, this.logger)),
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
    const subscription = new ChannelSubscription(socket, channel);
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
      socket.send(toErrorFrame(id, error, this.logger));
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

  /**
   * Runs a handler (Observables already resolve to their last value) with a time limit: exactly
   * one of `onResult` and `onError` is called, `onError` with TIMEOUT when the limit passes first
   * (a later result is then discarded).
   */
  private run(
    handler: SssHandler,
    args: unknown[],
    onResult: (result: unknown) => void,
    onError: (error: unknown) => void,
  ): void {
    const pending: HandlerRun = { deadline: Date.now() + this.options.limits.handlerTimeout, onError };
    this.runs.add(pending);
    this.timeoutTimer ??= this.scheduleTimeouts(this.options.limits.handlerTimeout);
    let running: Promise<unknown>;
    try {
      running = handler(...args);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (result) => {
        if (this.finish(pending)) onResult(result);
      },
      (error: unknown) => {
        if (this.finish(pending)) onError(error);
      },
    );
  }

  /** Takes a run off the clock; false when it already timed out. */
  private finish(run: HandlerRun): boolean {
    if (!this.runs.delete(run)) return false;
    // Nothing left to time: no timer may keep the process alive longer than a handler would.
    if (this.runs.size === 0) {
      clearTimeout(this.timeoutTimer);
      this.timeoutTimer = undefined;
    }
    return true;
  }

  /** Fails the runs whose time is up, then waits for the oldest of the others. */
  private expireRuns(): void {
    this.timeoutTimer = undefined;
    const now = Date.now();
    const timeoutMs = this.options.limits.handlerTimeout;
    for (const run of this.runs) {
      if (run.deadline > now) {
        // An onError above may have started a run, and with it a timer: keep one.
        clearTimeout(this.timeoutTimer);
        this.timeoutTimer = this.scheduleTimeouts(run.deadline - now);
        return;
      }
      this.runs.delete(run);
      run.onError(new SssError(ErrorCode.Timeout, SssMessages.handlerTimeout(timeoutMs)));
    }
  }

  private scheduleTimeouts(delayMs: number): NodeJS.Timeout {
    return setTimeout(() => this.expireRuns(), Math.max(1, delayMs));
  }

  private fail(socket: SssSocket, id: number | undefined, code: string, message: string): void {
    const frame: ErrorFrame = { t: 'err', code, message };
    if (id !== undefined) frame.id = id;
    socket.send(frame);
  }
}

/** `undefined` when absent, `null` when present but malformed. */
function readPosition(value: unknown): ChannelPosition | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') return null;
  const { epoch, seq } = value as Record<string, unknown>;
  if (typeof epoch !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return null;
  return { epoch, seq };
}
