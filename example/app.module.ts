import { Module } from '@nestjs/common';
import { SseModule } from '../src/index.js';
import { HELLO_INTERVAL_MS } from './hello.constants.js';
import { HelloController } from './hello.controller.js';

@Module({
  imports: [SseModule.forRoot()],
  controllers: [HelloController],
  providers: [
    {
      provide: HELLO_INTERVAL_MS,
      useFactory: () => Number(process.env.HELLO_INTERVAL_MS ?? 2000),
    },
  ],
})
export class AppModule {}
