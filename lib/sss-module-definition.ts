import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SssModuleOptions } from './interfaces/sss-module-options.interface.js';

export const {
  ConfigurableModuleClass: SssConfigurableModule,
  MODULE_OPTIONS_TOKEN: SSS_MODULE_OPTIONS,
  OPTIONS_TYPE: SSS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SSS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SssModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
