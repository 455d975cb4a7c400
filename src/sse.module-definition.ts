import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SseModuleOptions } from './sse.options.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: SSE_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SseModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
