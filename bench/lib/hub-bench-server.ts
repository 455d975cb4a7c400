import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import {
  type SseBroker,
  SseHub,
  SseModule,
  type StoredEvent,
  StreamRegistry,
} from '../../src/index.js';
import { type BenchServer, portFromArgs, runBenchServer } from './server-kit.js';

/**
 * The broker hop of each event (publish → hub listener, in µs, from the send time its data
 * carries), noted once per event however many listeners it reaches, and taken by the `stats`
 * call that reads them.
 */
export function hopRecorder(): { note(event: StoredEvent): void; take(): number[] } {
  let hops: number[] = [];
  let lastEvent: unknown;
  return {
    note(event) {
      // Once per event: each listener of a channel gets the very same object.
      if (event === lastEvent) return;
      lastEvent = event;
      const data = String(event.data);
      const from = data.indexOf(' ') + 1;
      hops.push(
        Number(process.hrtime.bigint() / 1000n) - Number(data.slice(from, data.indexOf(' ', from))),
      );
    },
    take() {
      const taken = hops;
      hops = [];
      return taken;
    },
  };
}

/**
 * A hub bench server: `controller` on the module's bench settings (no heartbeat, 1 MiB budget,
 * slow clients closed) over `broker`, listening on the port given, driven by the bench kit with
 * what `bench` makes of the app's hub and registry.
 */
export async function startHubBenchServer(
  controller: Type,
  broker: SseBroker,
  bench: (hub: SseHub, registry: StreamRegistry) => Omit<BenchServer, 'http'>,
): Promise<void> {
  @Module({
    imports: [
      SseModule.forRoot({
        heartbeatMs: 0,
        maxBufferedBytes: 1024 * 1024,
        slowClientPolicy: 'close',
        broker,
      }),
    ],
    controllers: [controller],
  })
  class HubBenchModule {}

  const app = await NestFactory.create(HubBenchModule, { logger: ['error', 'warn'] });
  const port = portFromArgs();
  await app.listen(port, '127.0.0.1');
  const http = app.getHttpServer() as Server;
  const address = http.address();
  runBenchServer(
    { http, ...bench(app.get(SseHub), app.get(StreamRegistry)) },
    typeof address === 'object' && address !== null ? address.port : port,
  );
}
