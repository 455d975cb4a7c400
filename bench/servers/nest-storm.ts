/**
 * The reconnect storm's instances (issue 11, item 4): nestjs-event-stream with `SseHub` on
 * `redisBroker()` and the module's defaults otherwise (heartbeat 15 s, `retry:` hint at shutdown
 * of 1 s + up to 4 s of jitter, 5 s of shutdown grace). `GET /events?ch=<channel>` returns
 * `hub.stream(channel, { lastEventId })`: a client that comes back with `Last-Event-ID` gets
 * what it missed first.
 *
 * The same script is the publisher (`BENCH_STORM_ROLE=publisher`, no client connects to it):
 * the kit's `publish` command sends event `seq` to channel `ch<seq mod BENCH_STORM_CHANNELS>`,
 * and `stats` reports the id the hub gave each one, the channel's published sequence that
 * every client's ids are compared with.
 *
 * Environment: BENCH_STORM_REDIS_URL, BENCH_STORM_KEY_PREFIX, BENCH_STORM_CHANNELS.
 * A SIGTERM runs `app.close()` (Nest's shutdown hooks), as a deploy would.
 */
import 'reflect-metadata';
import { Controller, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import {
  EventStream,
  type HubStream,
  LastEventId,
  redisBroker,
  type SseBroker,
  SseHub,
  SseModule,
  StreamRegistry,
} from '../../src/index.js';
import { portFromArgs, runBenchServer } from '../lib/server-kit.js';

const channels = Number(process.env.BENCH_STORM_CHANNELS ?? 8);
const publisher = process.env.BENCH_STORM_ROLE === 'publisher';

/**
 * Counts the broker subscriptions that are ready (the instance knows where the channel's log
 * ends: every later event reaches them), so that publishing starts only once no stream can
 * miss the first event.
 */
function countingReady(inner: SseBroker): { broker: SseBroker; ready: () => number } {
  let ready = 0;
  const subscribe: SseBroker['subscribe'] = (channel, listener, onGap) => {
    const subscription = inner.subscribe(channel, listener, onGap);
    let state: 'waiting' | 'ready' | 'gone' = 'waiting';
    subscription.ready.then(
      () => {
        if (state !== 'waiting') return;
        state = 'ready';
        ready++;
      },
      () => undefined,
    );
    return {
      ready: subscription.ready,
      unsubscribe() {
        if (state === 'ready') ready--;
        state = 'gone';
        subscription.unsubscribe();
      },
    };
  };
  // Everything else goes to the broker itself, with itself as `this`.
  const broker = new Proxy(inner, {
    get(target, key) {
      if (key === 'subscribe') return subscribe;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { broker, ready: () => ready };
}

const { broker, ready } = countingReady(
  redisBroker({
    url: process.env.BENCH_STORM_REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: process.env.BENCH_STORM_KEY_PREFIX ?? `bench:storm:${process.pid}:`,
  }),
);

@Controller()
class StormController {
  constructor(private readonly hub: SseHub) {}

  @EventStream('events')
  events(@Query('ch') channel: string, @LastEventId() lastEventId?: string): HubStream {
    return this.hub.stream(channel, { lastEventId });
  }
}

@Module({ imports: [SseModule.forRoot({ broker })], controllers: [StormController] })
class StormModule {}

const app = await NestFactory.create(StormModule, { logger: ['error', 'warn'] });
app.enableShutdownHooks(['SIGTERM']);
const port = portFromArgs();
await app.listen(port, '127.0.0.1');
const http = app.getHttpServer() as Server;
const address = http.address();
const hub = app.get(SseHub);
const registry = app.get(StreamRegistry);
/** The id the hub gave each published sequence number (publisher only). */
const ids: string[] = [];
runBenchServer(
  {
    http,
    publish(event) {
      if (!publisher) throw new Error('only the publisher instance publishes');
      const seq = Number(event.id);
      return hub.publish(`ch${seq % channels}`, event.data).then((id) => {
        ids[seq] = id;
      });
    },
    subscribers: ready,
    extra: () => ({ ...registry.stats(), ...(publisher ? { ids } : {}) }),
  },
  typeof address === 'object' && address !== null ? address.port : port,
);
