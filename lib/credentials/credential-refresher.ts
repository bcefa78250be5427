import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ChannelHub } from '../channels/channel.hub.js';
import type { ChannelSubscription } from '../channels/channel-subscription.js';
import { SssError } from '../errors/sss.error.js';
import type { ResolvedSssOptions } from '../interfaces/resolved-options.interface.js';
import type { SssHandshake } from '../interfaces/sss-handshake.interface.js';
import type { SssChannelRequest } from '../interfaces/sss-request.interface.js';
import { CloseCode, ErrorCode, type ErrorFrame, type UnsubscribedFrame } from '../protocol/frames.js';
import { toErrorFrame } from '../router/error-frame.mapper.js';
import { HandlerRegistry } from '../router/handler.registry.js';
import { SessionGuardRunner } from '../server/session-guard.runner.js';
import type { SssSocket } from '../server/sss-socket.js';
import { SSS_RESOLVED_OPTIONS } from '../sss.constants.js';
import { SssMessages } from '../sss.messages.js';
import { CredentialExpiry } from './credential-expiry.js';

/**
 * Error codes of a failed check that say "try again", not "no": the client keeps its socket (and
 * retries until the expiry plus the grace period). Every other code refuses the credential.
 */
const TEMPORARY_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.Unavailable,
  ErrorCode.Timeout,
  ErrorCode.RateLimited,
  ErrorCode.Internal,
]);

/** Whether a guard's failure refuses the credential (or the subscription) for good. */
export function isRefusal(frame: ErrorFrame): boolean {
  return !TEMPORARY_CODES.has(frame.code) && !/^HTTP_5\d\d$/.test(frame.code);
}

/** Whether a session guard's `expiresAt` is usable: absent, or a finite number. */
export function isValidExpiry(expiresAt: unknown): expiresAt is number | undefined {
  return expiresAt === undefined || (typeof expiresAt === 'number' && Number.isFinite(expiresAt));
}

/**
 * Keeps credentials on open connections current: it asks the client of an expiring connection
 * for a fresh credential before the expiry (`refresh`), runs the session guards again with the
 * credential the client sends (`auth`), re-checks the guards of every subscription of the socket,
 * and closes the socket with 4003 once the expiry and the grace period passed, or with 4004 when
 * the guards refuse the fresh credential.
 */
@Injectable()
export class CredentialRefresher {
  private readonly logger = new Logger('SssCredentials');

  constructor(
    @Inject(SSS_RESOLVED_OPTIONS) private readonly options: ResolvedSssOptions,
    private readonly sessionGuards: SessionGuardRunner,
    private readonly registry: HandlerRegistry,
    private readonly hub: ChannelHub,
  ) {}

  /** Starts the clock of a socket whose session guards set `expiresAt` (nothing happens without one). */
  track(socket: SssSocket, request: IncomingMessage, expiresAt: number | undefined): void {
    if (expiresAt === undefined) return;
    const { refreshLeadTime, expiryGrace } = this.options.credentials;
    const expiry = new CredentialExpiry(
      {
        refreshDue: (expiresIn) => socket.send({ t: 'refresh', expiresIn }),
        expired: () => socket.close(CloseCode.CredentialsExpired, SssMessages.credentialsExpired),
      },
      refreshLeadTime,
      expiryGrace,
    );
    socket.credentials = { expiry, request, refreshing: false };
    expiry.set(expiresAt);
  }

  /** Stops the clock of a closed socket. */
  untrack(socket: SssSocket): void {
    socket.credentials?.expiry.stop();
  }

  /** Handles an `auth` frame whose fields were checked. Never throws. */
  refresh(socket: SssSocket, id: number, credential: string): void {
    const state = socket.credentials;
    if (!state) return this.fail(socket, id, ErrorCode.BadRequest, SssMessages.nothingToRefresh);
    if (state.refreshing) return this.fail(socket, id, ErrorCode.BadRequest, SssMessages.refreshInProgress);
    state.refreshing = true;
    this.check(socket, id, credential)
      .catch((error: unknown) => this.logger.error(error instanceof Error ? (error.stack ?? error.message) : error))
      .finally(() => (state.refreshing = false));
  }

  private async check(socket: SssSocket, id: number, credential: string): Promise<void> {
    const state = socket.credentials!;
    const handshake: SssHandshake = {
      request: state.request,
      address: socket.address,
      locals: socket.locals,
      credential,
    };
    try {
      await this.withinTimeout(this.sessionGuards.check(handshake));
      if (!isValidExpiry(handshake.expiresAt)) {
        this.logger.error(SssMessages.invalidExpiry(String(handshake.expiresAt)));
        throw new SssError(ErrorCode.Internal, SssMessages.internal);
      }
    } catch (error) {
      const frame = toErrorFrame(id, error, this.logger);
      if (!socket.isOpen) return;
      if (isRefusal(frame))
        return socket.close(CloseCode.CredentialsRefused, SssMessages.credentialsRefused(frame.message));
      return socket.send(frame);
    }
    if (!socket.isOpen) return;
    if (handshake.userId !== socket.userId || handshake.sessionId !== socket.sessionId) {
      return socket.close(CloseCode.CredentialsRefused, SssMessages.credentialsRefused(SssMessages.identityChanged));
    }
    state.expiry.set(handshake.expiresAt, true);
    await Promise.all([...socket.subscriptions.values()].map((subscription) => this.recheck(subscription)));
    if (socket.isOpen) socket.send({ t: 'ack', id });
  }

  /** Runs a subscription's `@Channel` guards again; a refusal ends it with `unsubbed`. */
  private async recheck(subscription: ChannelSubscription): Promise<void> {
    const { socket, channel } = subscription;
    const matched = this.registry.matchChannel(channel);
    const guards = matched?.route.guards;
    if (!matched || !guards) return;
    const request: SssChannelRequest = {
      kind: 'channel',
      channel,
      pattern: matched.route.pattern,
      params: matched.params,
      query: subscription.query,
      recheck: true,
    };
    try {
      await this.withinTimeout(guards(socket, subscription.query, request, matched.route.pattern));
    } catch (error) {
      const frame = toErrorFrame(undefined, error, this.logger);
      // A temporary failure keeps the subscription: it was allowed, and nothing says it no longer is.
      if (!isRefusal(frame) || socket.subscriptions.get(channel) !== subscription) return;
      this.hub.detach(subscription);
      const ended: UnsubscribedFrame = { t: 'unsubbed', channel, reason: frame.message, code: frame.code };
      socket.send(ended);
    }
  }

  /** Guards have `limits.handlerTimeout` to decide, as at the upgrade. */
  private async withinTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.options.limits.handlerTimeout;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new SssError(ErrorCode.Timeout, SssMessages.handlerTimeout(timeoutMs))),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(socket: SssSocket, id: number, code: string, message: string): void {
    socket.send({ t: 'err', id, code, message });
  }
}
