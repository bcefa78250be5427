import { Injectable, Logger } from '@nestjs/common';
import type { OnSssConnect, SssDisconnectInfo } from '../interfaces/sss-lifecycle.interface.js';

/** The socket the hooks receive; named through the hook interface so this folder needs nothing of `server/`. */
type SssSocket = Parameters<OnSssConnect['onSssConnect']>[0];

type HookName =
  'onSssConnect' | 'onSssDisconnect' | 'onSssSubscribe' | 'onSssUnsubscribe' | 'onSssChannelOpen' | 'onSssChannelClose';

/** Calls the lifecycle hooks (`OnSssConnect`, ...) that gateways implement. */
@Injectable()
export class LifecycleDispatcher {
  private readonly logger = new Logger('SssLifecycle');
  private readonly gateways: object[] = [];

  register(gateway: object): void {
    this.gateways.push(gateway);
  }

  connected(socket: SssSocket): void {
    this.call('onSssConnect', socket);
  }

  disconnected(socket: SssSocket, info: SssDisconnectInfo): void {
    this.call('onSssDisconnect', socket, info);
  }

  subscribed(socket: SssSocket, channel: string): void {
    this.call('onSssSubscribe', socket, channel);
  }

  unsubscribed(socket: SssSocket, channel: string): void {
    this.call('onSssUnsubscribe', socket, channel);
  }

  channelOpened(channel: string): void {
    this.call('onSssChannelOpen', channel);
  }

  channelClosed(channel: string): void {
    this.call('onSssChannelClose', channel);
  }

  // A failing hook is the app's bug; it is logged and never disturbs the socket or other hooks.
  private call(hook: HookName, ...args: unknown[]): void {
    for (const gateway of this.gateways) {
      const method = (gateway as Record<string, unknown>)[hook];
      if (typeof method !== 'function') continue;
      try {
        const result = method.apply(gateway, args);
        if (result instanceof Promise) result.catch((error: unknown) => this.report(hook, error));
      } catch (error) {
        this.report(hook, error);
      }
    }
  }

  private report(hook: HookName, error: unknown): void {
    this.logger.error(`${hook} failed`, error instanceof Error ? error.stack : String(error));
  }
}
