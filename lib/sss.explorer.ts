import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, ExternalContextCreator, MetadataScanner } from '@nestjs/core';
import { FiltersOnlyErrorProxy } from './context/filters-only-error.proxy.js';
import { SssParamsFactory } from './context/sss-params.factory.js';
import { HandlerRegistry, type SssHandler } from './router/handler.registry.js';
import { LifecycleDispatcher } from './lifecycle/lifecycle.dispatcher.js';
import { SSS_CONTEXT_TYPE } from './sss.constants.js';
import { SssMetadataAccessor } from './sss-metadata.accessor.js';

/**
 * Finds every `@SssGateway` provider and registers its `@OnAsk`, `@OnTell` and `@Channel` methods,
 * each wrapped by `ExternalContextCreator` in the guards, pipes, interceptors and filters that
 * apply to it, exactly as Nest wraps a controller method.
 */
@Injectable()
export class SssExplorer implements OnModuleInit {
  private readonly logger = new Logger('SssExplorer');
  private readonly paramsFactory = new SssParamsFactory();
  private contextCreator!: ExternalContextCreator;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: SssMetadataAccessor,
    private readonly externalContextCreator: ExternalContextCreator,
    private readonly registry: HandlerRegistry,
    private readonly lifecycle: LifecycleDispatcher,
  ) {}

  onModuleInit(): void {
    // NOTE: a creator that shares everything with Nest's except the error proxy (see
    // FiltersOnlyErrorProxy). `externalErrorProxy` is a private field of ExternalContextCreator.
    this.contextCreator = Object.assign(Object.create(this.externalContextCreator) as ExternalContextCreator, {
      externalErrorProxy: new FiltersOnlyErrorProxy(),
    });
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype || !this.accessor.isGateway(metatype)) continue;
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(`${metatype.name} is request-scoped; gateways must be singletons, so it is ignored.`);
        continue;
      }
      this.lifecycle.register(instance);
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        this.registerMethod(instance as Record<string, unknown>, methodName, metatype.name);
      }
    }
  }

  private registerMethod(instance: Record<string, unknown>, methodName: string, className: string): void {
    const method = instance[methodName] as (...args: unknown[]) => unknown;
    const askTopic = this.accessor.getAskTopic(method);
    const tellTopic = this.accessor.getTellTopic(method);
    const channelPattern = this.accessor.getChannelPattern(method);
    if (askTopic === undefined && tellTopic === undefined && channelPattern === undefined) return;
    const source = { handler: this.createHandler(instance, method, methodName), name: `${className}.${methodName}` };
    if (askTopic !== undefined) this.registry.addAsk(askTopic, source);
    if (tellTopic !== undefined) this.registry.addTell(tellTopic, source);
    if (channelPattern !== undefined) this.registry.addChannel(channelPattern, source);
  }

  private createHandler(instance: object, method: (...args: unknown[]) => unknown, methodName: string): SssHandler {
    return this.contextCreator.create(
      instance,
      method,
      methodName,
      ROUTE_ARGS_METADATA,
      this.paramsFactory,
      undefined,
      undefined,
      { guards: true, interceptors: true, filters: true },
      SSS_CONTEXT_TYPE,
    );
  }
}
