import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { SssContextCreator } from './context/sss-context.creator.js';
import type { FilterInstances } from './context/sss-exception-filters.context.js';
import { SssConfigurationError } from './errors/sss-configuration.error.js';
import { LifecycleDispatcher } from './lifecycle/lifecycle.dispatcher.js';
import { HandlerRegistry } from './router/handler.registry.js';
import { SssMessages } from './sss.messages.js';
import { SssMetadataAccessor } from './sss-metadata.accessor.js';

/**
 * Finds every `@SssGateway` provider and registers its `@OnAsk`, `@OnTell` and `@Channel` methods,
 * each wrapped in the guards, pipes, interceptors and filters that apply to it.
 */
@Injectable()
export class SssExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: SssMetadataAccessor,
    private readonly contextCreator: SssContextCreator,
    private readonly registry: HandlerRegistry,
    private readonly lifecycle: LifecycleDispatcher,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!metatype || !this.accessor.isGateway(metatype)) continue;
      // NOTE: one instance serves every socket; a request-scoped gateway (or one that depends on a
      // request-scoped provider) has none, so it is refused rather than silently not served.
      if (!wrapper.isDependencyTreeStatic()) {
        throw new SssConfigurationError(SssMessages.requestScopedGateway(metatype.name));
      }
      if (!instance) continue;
      this.lifecycle.register(instance);
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        this.registerMethod(instance as Record<string, unknown>, methodName, metatype.name, wrapper.host?.injectables);
      }
    }
  }

  private registerMethod(
    instance: Record<string, unknown>,
    methodName: string,
    className: string,
    injectables: FilterInstances | undefined,
  ): void {
    const method = instance[methodName] as (...args: unknown[]) => unknown;
    const askTopic = this.accessor.getAskTopic(method);
    const tellTopic = this.accessor.getTellTopic(method);
    const channelPattern = this.accessor.getChannelPattern(method);
    if (askTopic === undefined && tellTopic === undefined && channelPattern === undefined) return;
    const handler = this.contextCreator.create(instance, method, methodName, injectables);
    const source = { handler, name: `${className}.${methodName}` };
    if (askTopic !== undefined) this.registry.addAsk(askTopic, source);
    if (tellTopic !== undefined) this.registry.addTell(tellTopic, source);
    if (channelPattern !== undefined) {
      const { presence } = this.accessor.getChannelOptions(method);
      this.registry.addChannel(channelPattern, source, { presence: presence === true });
    }
  }
}
