import { VersioningType } from '@nestjs/common';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { request as httpRequest } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  redisBroker,
  SseHub,
  type SseModuleOptions,
  type StreamInfo,
  type StreamLifecycleEvent,
  StreamRegistry,
} from '../../src/index.js';
import { PlatformRequestsAppModule } from '../src/attack/platform-requests-app.module.js';
import { PlatformRequestsController } from '../src/attack/platform-requests.controller.js';
import { RequestProbe } from '../src/attack/request-probe.js';
import type { TaggedRequest } from '../src/attack/request-tag.guard.js';
import { HubAppModule } from '../src/hub/hub-app.module.js';
import { VersionedUsersController } from '../src/attack/versioned-users.controller.js';
import { nextTurn, within } from '../support/deadline.js';
import { eventually } from '../support/eventually.js';
import { type Platform, type PlatformApp, PLATFORMS } from '../support/platforms.js';
import { RedisCluster, redisClusterInstallable } from '../support/redis-cluster.js';
import { reportRedisServerAvailability } from '../support/redis-server.js';

// Today's Fastify change: clientKey and StreamInfo.request get the FastifyRequest that @Req()
// gets (Node's raw request before), StreamInfo.protocol is new, and http.route is the route's
// template. Attacked on every platform with real clients: keys that throw or are no strings,
// keys reading what only a FastifyRequest has, clients leaving an async set-up, requests of
// closed streams kept alive, HEAD and 406, a prefixed and versioned route's template. Then the
// Redis Cluster partitions' validation.

const EVENT_STREAM = 'text/event-stream';

/** A FastifyRequest's own fields, as a key function may read them (absent on Express). */
interface FrameworkRequest extends TaggedRequest {
  id?: unknown;
  routeOptions?: { url?: string };
  route?: { path?: string };
  raw?: unknown;
}

/** The request's route as its platform names it: Fastify's routeOptions.url, Express's route.path. */
function routeOf(request: FrameworkRequest): string | undefined {
  return request.routeOptions?.url ?? request.route?.path;
}

/**
 * A stream request the test can leave before its answer's head arrives (openEventStream waits
 * for the head, which an async set-up holds back): HTTP/1.1 on a socket, or an HTTP/2 stream.
 */
function pendingRequest(app: PlatformApp, path: string, headers: Record<string, string>) {
  const all = { accept: EVENT_STREAM, ...headers };
  if (app.platform.protocol === '2') {
    const session = connectHttp2(app.origin, { ca: app.certificate?.cert });
    session.on('error', () => undefined);
    const stream = session.request({ ':path': path, ...all });
    stream.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    return {
      async leave() {
        stream.close();
        session.close();
        await closed;
      },
    };
  }
  const request = httpRequest(`${app.origin}${path}`, { headers: all, agent: false });
  request.on('error', () => undefined);
  request.end();
  const closed = new Promise<void>((resolve) => request.once('close', () => resolve()));
  return {
    async leave() {
      request.destroy();
      await closed;
    },
  };
}

/** A head read off the wire (HTTP/1.1: up to its blank line; HTTP/2: the response event). */
async function headOnly(
  app: PlatformApp,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  if (app.platform.protocol === '2') {
    const answer = await app.request(path, { accept: EVENT_STREAM, ...headers }, method);
    return { status: answer.status, headers: answer.headers };
  }
  const answer = await closingRequest(app, method, path, headers, 'keep-alive');
  const [statusLine, ...lines] = answer.head.split('\r\n');
  answer.destroy();
  return {
    status: Number(statusLine!.split(' ')[1]),
    headers: Object.fromEntries(
      lines.map((line) => [
        line.slice(0, line.indexOf(':')).toLowerCase(),
        line.slice(line.indexOf(':') + 1).trim(),
      ]),
    ),
  };
}

/**
 * One HTTP/1.1 request on a socket of its own, with `Connection: close` unless told otherwise:
 * its head once the server sent it, and whether the server closed the socket within a second.
 */
async function closingRequest(
  app: PlatformApp,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  connection = 'close',
) {
  const socket = connectTcp(Number(new URL(app.origin).port), '127.0.0.1');
  socket.setEncoding('utf8');
  let received = '';
  const closed = new Promise<string>((resolve) => {
    socket.once('close', () => resolve('closed by the server'));
  });
  const head = new Promise<string>((resolve) => {
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\r\n\r\n');
      if (end !== -1) resolve(received.slice(0, end + 2));
    });
  });
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `Connection: ${connection}`,
    `Accept: ${EVENT_STREAM}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return {
    head: await within(head, 5000, `the head of ${method} ${path}`),
    closed: Promise.race([closed, timedOut(1000)]).finally(() => socket.destroy()),
    destroy: () => socket.destroy(),
  };
}

/** Resolves with what it says after `ms`. */
function timedOut(ms: number): Promise<string> {
  return new Promise((resolve) => setTimeout(() => resolve(`still open after ${ms} ms`), ms));
}

/** Opens a stream and waits for its `open` event. */
async function open(app: PlatformApp, path: string, headers: Record<string, string> = {}) {
  const stream = await app.openEventStream({ path, headers });
  expect(stream.status).toBe(200);
  await stream.take(1);
  return stream;
}

/** A key that fails for `x-user: boom` (a key store down), the guard's user otherwise. */
function throwing(request: FrameworkRequest): string | undefined {
  if (request.headers['x-user'] === 'boom') throw new Error('key store down');
  return request.user?.id;
}

/** An SDK of the test's own, whose reader exports only when told to. */
function meterSdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    /** The points of one of the library's instruments, as exported now. */
    async points(name: string) {
      await reader.forceFlush();
      const scope = exporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.find((s) => s.scope.name === 'nestjs-event-stream');
      const found = scope?.metrics.find((m) => m.descriptor.name === name);
      return (found?.dataPoints ?? []).map((p) => ({
        attributes: { ...p.attributes },
        value: p.value,
      }));
    },
    shutdown: () => meterProvider.shutdown(),
  };
}

/** V8's collector, exposed at run time (the test process was not started with --expose-gc). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe.each(PLATFORMS)('the requests streams are given on $name', (platform: Platform) => {
  let started: PlatformApp | undefined;
  let probe: RequestProbe;

  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(
    options: SseModuleOptions = {},
    configure?: Parameters<Platform['createApp']>[1],
    controllers?: Parameters<typeof PlatformRequestsAppModule.with>[2],
  ): Promise<{ app: PlatformApp; registry: StreamRegistry; lifecycle: StreamLifecycleEvent[] }> {
    probe = new RequestProbe();
    started = await platform.createApp(
      PlatformRequestsAppModule.with(options, probe, controllers),
      configure,
    );
    const registry = started.app.get(StreamRegistry);
    const lifecycle: StreamLifecycleEvent[] = [];
    registry.lifecycle$.subscribe((event) => lifecycle.push(event));
    return { app: started, registry, lifecycle };
  }

  describe('a clientKey that throws', () => {
    it('answers 500 before any stream byte, and keeps no slot (per-client limit: called at once)', async () => {
      const { app, registry, lifecycle } = await start({
        maxConnections: 1,
        maxConnectionsPerClient: 1,
        clientKey: throwing,
      });
      const refused = await app.request('/accounts/1/events', {
        accept: EVENT_STREAM,
        'x-user': 'boom',
      });
      expect(refused.status).toBe(500);
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(refused.body)).toEqual({
        statusCode: 500,
        message: 'Internal server error',
      });
      // The only slot is free, for the same route and a key that works.
      const ann = await open(app, '/accounts/1/events', { 'x-user': 'ann' });
      expect(registry.list().map((s) => s.clientKey)).toEqual(['ann']);
      expect(lifecycle.map((e) => e.type)).toEqual(['open']);
      await ann.close();
      await eventually(() => registry.stats().open === 0, 'the stream closed');
      expect(registry.stats().refused).toBe(0);
    });

    it('lets the stream open without a per-client limit; its key is undefined and close() still reaches the others', async () => {
      const { app, registry } = await start({ clientKey: throwing });
      const boom = await open(app, '/accounts/1/events', { 'x-user': 'boom' });
      const ann = await open(app, '/accounts/2/events', { 'x-user': 'ann' });
      expect(registry.list().map((s) => s.clientKey)).toEqual([undefined, 'ann']);
      // A close() by client reads every stream's key: one key failing ends none of the others'.
      expect(registry.close((s) => s.clientKey === 'ann')).toBe(1);
      await ann.waitForEnd();
      expect(registry.stats().open).toBe(1);
      await boom.close();
      await eventually(() => registry.stats().open === 0, 'the stream closed');
    });
  });

  describe('a clientKey that returns no string', () => {
    // A number would be counted apart from the same id as a string, and an object made per
    // request would match nothing: the limit would silently hold no one.
    it.each([
      ['a number', (request: FrameworkRequest) => Number(request.headers['x-user'])],
      ['an object', (request: FrameworkRequest) => ({ id: request.user?.id })],
    ])(
      'is refused with a clear error when it returns %s (500 before any byte, no slot kept)',
      async (_what, key) => {
        const { app, registry } = await start({
          maxConnections: 1,
          maxConnectionsPerClient: 1,
          clientKey: key as never,
        });
        const refused = await app.request('/accounts/1/events', {
          accept: EVENT_STREAM,
          'x-user': '7',
        });
        expect(refused.status).toBe(500);
        expect(JSON.parse(refused.body)).toEqual({
          statusCode: 500,
          message: 'Internal server error',
        });
        expect(registry.stats()).toMatchObject({ open: 0, refused: 0 });
      },
    );

    it('leaves a stream without a key when it returns no string on demand (no per-client limit)', async () => {
      const { app, registry } = await start({
        clientKey: ((request: FrameworkRequest) => Number(request.headers['x-user'])) as never,
      });
      const stream = await open(app, '/accounts/1/events', { 'x-user': '7' });
      expect(registry.list().map((s) => s.clientKey)).toEqual([undefined]);
      await stream.close();
      await eventually(() => registry.stats().open === 0, 'the stream closed');
    });
  });

  it("gives clientKey the request the guard and @Req() got, with its platform's own fields", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const { app, registry } = await start({
      maxConnectionsPerClient: 5,
      clientKey: (request: FrameworkRequest) => {
        seen.push({
          guarded: probe.guarded.has(request),
          user: request.user?.id,
          route: routeOf(request),
          hasId: request.id !== undefined,
          wrapsRaw: request.raw !== undefined,
        });
        return `${request.user?.id}@${routeOf(request)}`;
      },
    });
    const stream = await open(app, '/accounts/42/events', { 'x-user': 'ann' });
    const fastify = platform.adapter === 'fastify';
    expect(seen).toEqual([
      {
        guarded: true,
        user: 'ann',
        route: '/accounts/:id/events',
        // Fastify's request id and its raw request, on HTTP/1.1 and HTTP/2 alike.
        hasId: fastify,
        wrapsRaw: fastify,
      },
    ]);
    expect(probe.handedGuardedRequest).toEqual([true]);
    const [info] = registry.list();
    expect(info!.clientKey).toBe('ann@/accounts/:id/events');
    expect(probe.guarded.has(info!.request)).toBe(true);
    expect((info!.request as FrameworkRequest).user).toEqual({ id: 'ann' });
    await stream.close();
    await eventually(() => registry.stats().open === 0, 'the stream closed');
    // Read once, up front, for the limit: never again (not at close).
    expect(seen).toHaveLength(1);
  });

  it("lets lifecycle$ read the request's headers, user and protocol at open and at close", async () => {
    const { app, registry } = await start();
    const read: unknown[] = [];
    registry.lifecycle$.subscribe(({ type, stream }) =>
      read.push({
        type,
        tag: stream.request.headers['x-tag'],
        user: (stream.request as FrameworkRequest).user?.id,
        guarded: probe.guarded.has(stream.request),
        protocol: stream.protocol,
      }),
    );
    const stream = await open(app, '/accounts/1/events', { 'x-tag': 'seen', 'x-user': 'ann' });
    await stream.close();
    await eventually(() => read.length === 2, 'open and close');
    const row = { tag: 'seen', user: 'ann', guarded: true, protocol: platform.protocol };
    expect(read).toEqual([
      { type: 'open', ...row },
      { type: 'close', ...row },
    ]);
  });

  it.runIf(platform.secure)('names HTTP/1.1 on an HTTP/2 server that allows it', async () => {
    const { app, registry } = await start();
    const stream = await app.openEventStream({
      path: '/accounts/1/events',
      http2: false,
      tls: { ca: app.certificate!.cert },
    });
    await stream.take(1);
    expect(stream.protocol).toBe('1.1');
    expect(registry.list().map((s) => s.protocol)).toEqual(['1.1']);
    await stream.close();
    await eventually(() => registry.stats().open === 0, 'the stream closed');
  });

  it.runIf(!platform.secure && platform.protocol === '1.1')(
    "names an HTTP/1.0 request's protocol '1.0'",
    async () => {
      const { app, registry } = await start();
      const socket = connectTcp(Number(new URL(app.origin).port), '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8');
      const opened = new Promise<void>((resolve) =>
        socket.on('data', (chunk: string) => {
          received += chunk;
          if (received.includes('event: open')) resolve();
        }),
      );
      socket.write(
        'GET /accounts/1/events HTTP/1.0\r\nAccept: text/event-stream\r\nX-User: old\r\n\r\n',
      );
      await within(opened, 5000, 'the open event over HTTP/1.0');
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
      expect(registry.list().map((s) => s.protocol)).toEqual(['1.0']);
      socket.destroy();
      await eventually(() => registry.stats().open === 0, 'the stream closed');
    },
  );

  describe('an async set-up the client leaves', () => {
    it('gives the slot back as the client goes, and reads the key only once (per-client limit)', async () => {
      let keyCalls = 0;
      const { app, registry, lifecycle } = await start({
        maxConnections: 1,
        maxConnectionsPerClient: 1,
        clientKey: (request: FrameworkRequest) => {
          keyCalls++;
          return request.user?.id;
        },
      });
      const pending = pendingRequest(app, '/accounts/1/slow', { 'x-user': 'ann' });
      await probe.untilEntered(1);
      expect(keyCalls).toBe(1);
      await pending.leave();
      // The same client, on the only slot, while the first set-up is still pending.
      const stream = await open(app, '/accounts/1/events', { 'x-user': 'ann' });
      expect(registry.list().map((s) => s.path)).toEqual(['/accounts/1/events']);
      probe.openGate();
      await probe.returned;
      await nextTurn();
      expect(registry.list().map((s) => s.path)).toEqual(['/accounts/1/events']);
      expect(keyCalls).toBe(2);
      await stream.close();
      await eventually(() => registry.stats().open === 0, 'the stream closed');
      expect(lifecycle.map((e) => `${e.type} ${e.stream.path}`)).toEqual([
        'open /accounts/1/events',
        'close /accounts/1/events',
      ]);
      expect(keyCalls).toBe(2);
    });

    it('never calls clientKey for it without a per-client limit', async () => {
      let keyCalls = 0;
      const { app, registry, lifecycle } = await start({
        maxConnections: 1,
        clientKey: () => {
          keyCalls++;
          return 'k';
        },
      });
      const pending = pendingRequest(app, '/accounts/1/slow', { 'x-user': 'ann' });
      await probe.untilEntered(1);
      await pending.leave();
      const stream = await open(app, '/accounts/1/events');
      probe.openGate();
      await probe.returned;
      await nextTurn();
      expect(registry.stats().open).toBe(1);
      registry.close((s) => s.clientKey === 'k');
      await stream.waitForEnd();
      await eventually(() => registry.stats().open === 0, 'the stream closed');
      // Once, for the close() filter of the stream that opened.
      expect(keyCalls).toBe(1);
      expect(lifecycle.map((e) => e.type)).toEqual(['open', 'close']);
    });
  });

  it('keeps no request of a closed stream alive (the FastifyRequest, its raw request)', async () => {
    const gc = collector();
    const { app, registry, lifecycle } = await start({ maxConnectionsPerClient: 10 });
    const streams = [];
    for (let i = 0; i < 4; i++) {
      streams.push(await open(app, `/accounts/${i}/events`, { 'x-user': `u${i}` }));
    }
    const refs = registry
      .list()
      .flatMap((info: StreamInfo) => [
        new WeakRef(info),
        new WeakRef(info.request),
        new WeakRef(((info.request as FrameworkRequest).raw ?? info.request) as object),
      ]);
    expect(refs).toHaveLength(12);
    for (const stream of streams) await stream.close();
    await eventually(() => registry.stats().open === 0, 'every stream closed');
    // What lifecycle$ handed out is the test's to drop.
    lifecycle.length = 0;
    // The collector works here: an object no one holds goes, one the test holds stays.
    const held = {};
    refs.push(new WeakRef({}));
    const heldRef = new WeakRef(held);
    const alive = () => refs.filter((ref) => ref.deref() !== undefined).length;
    for (let round = 0; round < 20 && alive() > 0; round++) {
      await nextTurn();
      gc();
    }
    expect(alive()).toBe(0);
    expect(heldRef.deref()).toBe(held);
  });

  describe('HEAD and 406 with a custom clientKey', () => {
    it('answers HEAD with the stream head, without calling clientKey or opening a stream', async () => {
      let keyCalls = 0;
      const { app, registry, lifecycle } = await start({
        maxConnections: 1,
        maxConnectionsPerClient: 1,
        clientKey: () => {
          keyCalls++;
          return 'k';
        },
      });
      for (let i = 0; i < 2; i++) {
        const head = await headOnly(app, 'HEAD', '/accounts/1/events', { 'x-user': 'ann' });
        expect(head.status).toBe(200);
        expect(head.headers['content-type']).toBe(EVENT_STREAM);
      }
      expect(keyCalls).toBe(0);
      expect(lifecycle).toEqual([]);
      expect(registry.stats()).toMatchObject({ open: 0, refused: 0 });
      // No slot held by either HEAD.
      const stream = await open(app, '/accounts/1/events');
      await stream.close();
    });

    it('answers 406 to an Accept without the stream, without calling clientKey', async () => {
      let keyCalls = 0;
      const { app, registry, lifecycle } = await start({
        maxConnectionsPerClient: 1,
        clientKey: () => {
          keyCalls++;
          return 'k';
        },
      });
      const refused = await app.request('/accounts/1/events', {
        accept: 'application/json',
        'x-user': 'ann',
      });
      expect(refused.status).toBe(406);
      expect(keyCalls).toBe(0);
      expect(lifecycle).toEqual([]);
      expect(registry.stats().open).toBe(0);
    });
  });

  // RFC 9112 9.6: a server that receives "Connection: close" closes the connection after its
  // final response (and should say "close" in it). Node does, unless a handler overrides the
  // response's Connection header: the stream head sets "keep-alive" whatever the client asked.
  describe.runIf(platform.protocol === '1.1')('a client that sent Connection: close', () => {
    it.each([
      ['HEAD', '/accounts/1/events'],
      ['GET', '/accounts/1/once'],
    ])('gets the connection closed after the answer to %s %s', async (method, path) => {
      const { app, registry } = await start();
      const answer = await closingRequest(app, method, path);
      expect(answer.head).toMatch(/^HTTP\/1\.1 200 /);
      // Within a second: Node's own keepAliveTimeout is 5 s, Fastify's 72 s.
      expect(await answer.closed).toBe('closed by the server');
      expect(answer.head).toMatch(/\r\nconnection: close\r\n/i);
      expect(registry.stats().open).toBe(0);
    });
  });

  it('names the route by its full template under a global prefix and URI versioning', async () => {
    const otel = meterSdk();
    try {
      const { app, registry } = await start(
        { meterProvider: otel.meterProvider },
        (nest) => {
          nest.setGlobalPrefix('api');
          nest.enableVersioning({ type: VersioningType.URI });
        },
        [PlatformRequestsController, VersionedUsersController],
      );
      const versioned = await open(app, '/api/v1/users/42/events');
      const plain = await open(app, '/api/accounts/7/events');
      expect(
        (await otel.points('sse.server.active_streams')).toSorted((a, b) =>
          String(a.attributes['http.route']).localeCompare(String(b.attributes['http.route'])),
        ),
      ).toEqual([
        {
          attributes: {
            'http.route': '/api/accounts/:id/events',
            'network.protocol.version': platform.protocol,
          },
          value: 1,
        },
        {
          attributes: {
            'http.route': '/api/v1/users/:id/events',
            'network.protocol.version': platform.protocol,
          },
          value: 1,
        },
      ]);
      await versioned.close();
      await plain.close();
      await eventually(() => registry.stats().open === 0, 'both streams closed');
    } finally {
      await started?.close();
      started = undefined;
      await otel.shutdown();
    }
  });
});

describe('redisBroker({ cluster: { partitions } })', () => {
  const nodes = [{ host: '127.0.0.1', port: 1 }];

  it.each([0, -1, 1.5, 2000, 1025, Number.NaN, Number.POSITIVE_INFINITY, '3'])(
    'refuses partitions %s at construction, naming the option and the range',
    (partitions) => {
      let thrown: unknown;
      try {
        redisBroker({ cluster: { nodes, partitions: partitions as number } });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidOptionError);
      expect(thrown).toMatchObject({
        code: 'SSE_INVALID_OPTION',
        option: 'cluster.partitions',
        message: expect.stringContaining('must be an integer from 1 to 1024, got'),
      });
    },
  );

  it('accepts 1, 3 and no partitions at all (8)', () => {
    for (const partitions of [1, 3, undefined]) {
      expect(() => redisBroker({ cluster: { nodes, partitions } })).not.toThrow();
    }
  });

  // Each tag is a search of its own for one exact slot (some 16,384 hashes on average): 1024
  // partitions block the event loop for seconds (3.8 to 5 s here) inside redisBroker(). A search
  // shared by every partition (the first candidate that hits any wanted slot) takes some 25 ms.
  it('builds the largest accepted partition count without blocking the event loop for seconds', () => {
    const started = performance.now();
    redisBroker({ cluster: { nodes, partitions: 1024 } });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

// Today's evenly spaced partitions on the real 3+3 test cluster (one launch for the file):
// partitions 1 and 3 deliver and resume from Last-Event-ID, and the slots Redis itself gives the
// partitions' keys are the evenly spaced ones, also for a prefix outside ASCII (the slot is the
// CRC16 of its UTF-8 bytes).
const clusterInstallable = redisClusterInstallable();
reportRedisServerAvailability(clusterInstallable, 'attack-platform-requests.e2e-spec');

describe.skipIf(!clusterInstallable)('cluster partitions on a real Redis Cluster', () => {
  let cluster: RedisCluster | undefined;
  const clients: Redis[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.launch();
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await cluster?.kill();
  });

  /** The hash slots of the keys under `prefix`, per master (by CLUSTER KEYSLOT). */
  async function slotsByMaster(prefix: string): Promise<number[][]> {
    const byMaster: number[][] = [];
    for (const master of await cluster!.masters()) {
      const client = new Redis(master.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      clients.push(client);
      await client.connect();
      const slots = new Set<number>();
      for (const key of await client.keys(`*${prefix}*`)) {
        slots.add(Number(await client.call('CLUSTER', 'KEYSLOT', key)));
      }
      byMaster.push([...slots].toSorted((a, b) => a - b));
    }
    return byMaster;
  }

  it.each([1, 3])(
    'partitions: %i delivers, resumes from Last-Event-ID, and spaces its slots evenly',
    async (partitions) => {
      const keyPrefix = `attack-pr${partitions}-ü🙂:`;
      const app = await PLATFORMS[1]!.createApp(
        HubAppModule.register({
          heartbeatMs: 0,
          broker: redisBroker({ cluster: { nodes: cluster!.seeds, partitions }, keyPrefix }),
        }),
      );
      try {
        const hub = app.app.get(SseHub);
        const first = await app.openEventStream({ path: '/hub?channels=orders' });
        expect(first.status).toBe(200);
        for (const n of [1, 2, 3]) await hub.publish('orders', { data: `o${n}` });
        const seen = await first.take(3);
        expect(seen.map((e) => e.data)).toEqual(['o1', 'o2', 'o3']);
        await first.close();
        for (const n of [4, 5]) await hub.publish('orders', { data: `o${n}` });
        const resumed = await app.openEventStream({
          path: '/hub?channels=orders',
          headers: { 'last-event-id': seen[2]!.id! },
        });
        expect((await resumed.take(2)).map((e) => e.data)).toEqual(['o4', 'o5']);
        await resumed.close();
        // Enough channels that every partition has keys.
        for (let c = 0; c < 40; c++) await hub.publish(`spread:${c}`, { data: 'x' });
        const wanted = Array.from({ length: partitions }, (_, k) =>
          Math.floor(((k + 0.5) * 16384) / partitions),
        );
        const byMaster = await slotsByMaster(keyPrefix);
        expect(byMaster.flat().toSorted((a, b) => a - b)).toEqual(wanted);
        // Each master of the even split holds one of three partitions; one holds the only one.
        expect(byMaster.map((slots) => slots.length).toSorted()).toEqual(
          partitions === 3 ? [1, 1, 1] : [0, 0, 1],
        );
      } finally {
        await app.close();
      }
    },
  );
});
