import { Injectable } from '@nestjs/common';
import { match, type MatchFunction } from 'path-to-regexp';
import { isObservable, lastValueFrom } from 'rxjs';
import { SssMessages } from '../sss.messages.js';

/**
 * A gateway method wrapped in Nest's enhancer pipeline; args are `[socket, payload, request, pattern]`.
 * It returns the result, or a Promise or an Observable of it (the Observable's last value counts):
 * a method with no enhancers is called directly, and a plain value it returns needs no Promise.
 */
export type SssHandler = (...args: unknown[]) => unknown;

/** Whether what a handler returned must be waited for: a Promise (any thenable) or an Observable. */
export function isDeferred(returned: unknown): boolean {
  return isObservable(returned) || typeof (returned as { then?: unknown } | null | undefined)?.then === 'function';
}

/** What a handler returned, as a Promise of its result: a Promise's value, an Observable's last value. */
export function settleResult(returned: unknown): Promise<unknown> {
  if (isObservable(returned)) return lastValueFrom(returned);
  return Promise.resolve(returned).then((value) => (isObservable(value) ? lastValueFrom(value) : value));
}

/** A `@Channel` method's guards alone: resolves when they allow, rejects with what they threw. */
export type SssGuardCheck = (...args: unknown[]) => Promise<unknown>;

/** Where a handler came from, for error messages. */
export interface HandlerSource {
  handler: SssHandler;
  /** `@Channel` methods: their guards alone, to re-check a live subscription; absent when none apply. */
  guards?: SssGuardCheck;
  /** `Class.method` */
  name: string;
}

/** What a `@Channel` declares beyond its pattern. */
export interface ChannelRouteOptions {
  /** Whether matching channels track presence. */
  presence: boolean;
}

interface ChannelRoute extends HandlerSource, ChannelRouteOptions {
  pattern: string;
  match: MatchFunction<Record<string, string>>;
}

/** A channel name resolved to its `@Channel` handler. */
export interface ChannelMatch {
  route: HandlerSource & ChannelRouteOptions & { pattern: string };
  params: Record<string, string>;
}

/** The handlers of every `@SssGateway`, by ask topic, tell topic and channel pattern. */
@Injectable()
export class HandlerRegistry {
  private readonly asks = new Map<string, HandlerSource>();
  private readonly tells = new Map<string, HandlerSource>();
  private readonly exactChannels = new Map<string, ChannelRoute>();
  private readonly patternChannels: ChannelRoute[] = [];

  addAsk(topic: string, source: HandlerSource): void {
    const existing = this.asks.get(topic);
    if (existing) throw new Error(SssMessages.duplicateAskTopic(topic, existing.name, source.name));
    this.asks.set(topic, source);
  }

  addTell(topic: string, source: HandlerSource): void {
    const existing = this.tells.get(topic);
    if (existing) throw new Error(SssMessages.duplicateTellTopic(topic, existing.name, source.name));
    this.tells.set(topic, source);
  }

  addChannel(pattern: string, source: HandlerSource, options: ChannelRouteOptions = { presence: false }): void {
    const existing = this.exactChannels.get(pattern) ?? this.patternChannels.find((r) => r.pattern === pattern);
    if (existing) throw new Error(SssMessages.duplicateChannelPattern(pattern, existing.name, source.name));
    let matcher: MatchFunction<Record<string, string>>;
    try {
      // Channel names are identifiers, not URLs: 'ROOM/1' and 'room/1/' are other channels than 'room/1'.
      matcher = match<Record<string, string>>(pattern, { decode: false, sensitive: true, trailing: false });
    } catch (error) {
      throw new Error(SssMessages.invalidChannelPattern(pattern, (error as Error).message));
    }
    const route = { ...source, ...options, pattern, match: matcher };
    // Patterns without parameters are looked up directly; the rest are tried in declaration order.
    if (/[:*{]/.test(pattern)) this.patternChannels.push(route);
    else this.exactChannels.set(pattern, route);
  }

  findAsk(topic: string): HandlerSource | undefined {
    return this.asks.get(topic);
  }

  findTell(topic: string): HandlerSource | undefined {
    return this.tells.get(topic);
  }

  matchChannel(channel: string): ChannelMatch | undefined {
    const exact = this.exactChannels.get(channel);
    if (exact) return { route: exact, params: {} };
    for (const route of this.patternChannels) {
      const result = route.match(channel);
      if (result) return { route, params: { ...result.params } };
    }
    return undefined;
  }
}
