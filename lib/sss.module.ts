import { Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ChannelHub } from './channels/channel.hub.js';
import { SignalRouter } from './router/signal.router.js';
import { SssContextCreator } from './context/sss-context.creator.js';
import type { ResolvedSssOptions } from './interfaces/resolved-options.interface.js';
import type { SssModuleOptions } from './interfaces/sss-module-options.interface.js';
import { SssPublisher } from './publisher/sss.publisher.js';
import { FrameRouter } from './router/frame.router.js';
import { HandlerRegistry } from './router/handler.registry.js';
import { MemoryScaler } from './scaler/memory.scaler.js';
import type { Scaler } from './scaler/scaler.interface.js';
import { LifecycleDispatcher } from './lifecycle/lifecycle.dispatcher.js';
import { SessionGuardRunner } from './server/session-guard.runner.js';
import { SocketRegistry } from './server/socket.registry.js';
import { SssServer } from './server/sss.server.js';
import { SSS_RESOLVED_OPTIONS, SSS_SCALER } from './sss.constants.js';
import { SssExplorer } from './sss.explorer.js';
import { SssMetadataAccessor } from './sss-metadata.accessor.js';
import { SSS_MODULE_OPTIONS, SssConfigurableModule } from './sss-module-definition.js';
import { resolveSssOptions } from './sss-options.resolver.js';

/**
 * Serves `@SssGateway` classes on the app's HTTP server and provides `SssPublisher`.
 *
 * @example
 * ```ts
 * @Module({ imports: [SssModule.forRoot({ path: '/sss' })], providers: [ChatGateway] })
 * export class AppModule {}
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: SSS_RESOLVED_OPTIONS,
      useFactory: (options: SssModuleOptions) => resolveSssOptions(options),
      inject: [SSS_MODULE_OPTIONS],
    },
    {
      provide: SSS_SCALER,
      useFactory: (options: SssModuleOptions, resolved: ResolvedSssOptions): Scaler =>
        options.scaler ?? new MemoryScaler(resolved.retention),
      inject: [SSS_MODULE_OPTIONS, SSS_RESOLVED_OPTIONS],
    },
    SssMetadataAccessor,
    SssContextCreator,
    SssExplorer,
    HandlerRegistry,
    LifecycleDispatcher,
    SocketRegistry,
    ChannelHub,
    FrameRouter,
    SignalRouter,
    SessionGuardRunner,
    SssServer,
    SssPublisher,
  ],
  exports: [SssPublisher, SSS_SCALER],
})
export class SssModule extends SssConfigurableModule implements OnModuleInit, OnApplicationShutdown {
  /** @internal */
  constructor(
    @Inject(SSS_SCALER) private readonly scaler: Scaler,
    private readonly hub: ChannelHub,
    private readonly signals: SignalRouter,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    await this.scaler.connect({
      onMessage: (message) => this.hub.onMessage(message),
      onSignal: (signal) => this.signals.route(signal),
      onPresence: (event) => this.hub.onPresence(event),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.scaler.close();
  }
}
