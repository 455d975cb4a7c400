import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryBroker, redisBroker, SseHub, type SseBroker } from '../../src/index.js';
import { openEventStream, TestEventStream } from '../../src/testing/index.js';
import { HubAppModule } from '../src/hub/hub-app.module.js';
import { JobRunner, type JobStep } from '../src/hub/job-runner.js';
import {
  deleteKeys,
  REDIS_URL,
  redisAvailable,
  reportRedisAvailability,
  uniqueKeyPrefix,
} from '../support/redis.js';

// Two instances of the hub app: A in this process, B in a child process on the built package,
// so that nothing can pass between them but Redis. With the memory broker on both, nothing
// crosses: the negative control that shows these tests can fail.

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../src/hub/child-server.mjs', import.meta.url));
const TIMEOUT_MS = 5000;

const available = await redisAvailable();
reportRedisAvailability(available, 'scale-out.e2e-spec');

/** Every key this file writes to Redis starts with it; deleted in afterAll. */
const KEY_PREFIX = uniqueKeyPrefix('scale-out');

/** Where this file's own build of the package lives (`dist/` is shared with other suites). */
let buildDir: string;

beforeAll(async () => {
  // A private build: another suite may rebuild `dist/` while the child imports it. Bare imports
  // of the build resolve through a node_modules link to the repository's.
  buildDir = await mkdtemp(join(tmpdir(), 'nestjs-event-stream-scale-out-'));
  await symlink(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
  await writeFile(join(buildDir, 'package.json'), JSON.stringify({ type: 'module' }));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await execFileAsync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', join(buildDir, 'dist')],
    { cwd: ROOT, timeout: 150_000 },
  ).catch((error: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`Building the package failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`, {
      cause: error,
    });
  });
}, 180_000);

afterAll(async () => {
  if (buildDir !== undefined) await rm(buildDir, { recursive: true, force: true });
  if (available) await deleteKeys(KEY_PREFIX);
});

/** Instance B: the child process and the port it listens on. */
interface Child {
  process: ChildProcess;
  port: number;
  output: () => string;
}

/** Forks the child server and resolves once it listens; fails with its output otherwise. */
async function startChild(broker: 'redis' | 'memory'): Promise<Child> {
  const child = fork(CHILD, [], {
    // Not vitest's loader flags: the child runs plain JavaScript on the build.
    execArgv: [],
    env: {
      ...process.env,
      SSE_LIBRARY: pathToFileURL(join(buildDir, 'dist', 'index.js')).href,
      SSE_BROKER: broker,
      SSE_REDIS_URL: REDIS_URL,
      SSE_KEY_PREFIX: KEY_PREFIX,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no port after 30 s`), 30_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`The child server failed to start: ${why}. Its output:\n${output}`));
    };
    child.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code, signal) => fail(`it exited (${code ?? signal})`));
    child.once('error', (error) => fail(error.message));
  });
  return { process: child, port, output: () => output };
}

/** Stops the child by its PID: SIGTERM (it closes its app), SIGKILL after 10 s. */
async function stopChild(child: Child | undefined): Promise<void> {
  const pid = child?.process.pid;
  if (child === undefined || pid === undefined || child.process.exitCode !== null) return;
  const exited = once(child.process, 'exit');
  process.kill(pid, 'SIGTERM');
  const timer = setTimeout(() => process.kill(pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A stream of instance B's, read the way openEventStream reads the in-process one. */
function openOnChild(child: Child, path: string, lastEventId?: string): Promise<TestEventStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: child.port,
      path,
      headers: {
        accept: 'text/event-stream',
        ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
      },
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`Timed out waiting for the headers of ${path} on the child`));
    }, TIMEOUT_MS);
    req.once('response', (response) => {
      clearTimeout(timer);
      resolve(new TestEventStream(response, TIMEOUT_MS));
    });
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

/** Publishes an event (sent as JSON) on instance B; resolves with the id B's hub gave it. */
async function publishOnChild(child: Child, channel: string, event: object): Promise<string> {
  const response = await request(`http://127.0.0.1:${child.port}`)
    .post(`/publish/${encodeURIComponent(channel)}`)
    .send(event)
    .expect(200);
  return (response.body as { id: string }).id;
}

/** The id, name and data of events, for whole-sequence comparisons. */
function summary(events: Array<{ id?: string; event?: string; data: string }>) {
  return events.map(({ id, event, data }) => ({ id, event, data }));
}

function twoInstances(broker: 'redis' | 'memory', makeBroker: () => SseBroker) {
  let child: Child | undefined;
  let app: INestApplication;
  let hub: SseHub;
  const streams: TestEventStream[] = [];

  beforeAll(async () => {
    child = await startChild(broker);
  }, 40_000);

  afterAll(async () => {
    await stopChild(child);
  }, 15_000);

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [HubAppModule.register({ heartbeatMs: 0, broker: makeBroker() })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    hub = app.get(SseHub);
  });

  afterEach(async () => {
    for (const stream of streams.splice(0)) await stream.close();
    await app.close();
  });

  async function onA(channel: string, lastEventId?: string): Promise<TestEventStream> {
    const stream = await openEventStream(app, {
      path: `/hub?channels=${encodeURIComponent(channel)}`,
      headers: lastEventId === undefined ? undefined : { 'last-event-id': lastEventId },
    });
    streams.push(stream);
    expect(stream.status).toBe(200);
    return stream;
  }

  async function onB(channel: string, lastEventId?: string): Promise<TestEventStream> {
    const stream = await openOnChild(child!, `/feed/${encodeURIComponent(channel)}`, lastEventId);
    streams.push(stream);
    expect(stream.status).toBe(200);
    return stream;
  }

  return {
    child: () => child!,
    app: () => app,
    hub: () => hub,
    onA,
    onB,
    streams,
  };
}

describe.skipIf(!available)('two instances on Redis, one in a child process', () => {
  const instances = twoInstances('redis', () =>
    redisBroker({ url: REDIS_URL, keyPrefix: KEY_PREFIX }),
  );

  it('fans out what either instance publishes to the clients of both', async () => {
    const hub = instances.hub();
    // Both clients resume from a known point, so that whatever comes after it reaches them.
    const start = await hub.publish('news', 'start');
    const clientOfA = await instances.onA('news', start);
    const clientOfB = await instances.onB('news', start);

    const first = await hub.publish('news', { type: 'headline', data: { n: 1 } });
    const expectedFirst = [{ id: first, event: 'headline', data: '{"n":1}' }];
    expect(summary(await clientOfB.take(1))).toEqual(expectedFirst);
    expect(summary(await clientOfA.take(1))).toEqual(expectedFirst);

    // Both streams are now live: these cross between the instances, both ways.
    const fromA = await hub.publish('news', { type: 'headline', data: { n: 2 } });
    const fromB = await publishOnChild(instances.child(), 'news', {
      type: 'headline',
      data: { n: 3 },
    });
    const expected = [
      { id: fromA, event: 'headline', data: '{"n":2}' },
      { id: fromB, event: 'headline', data: '{"n":3}' },
    ];
    expect(summary(await clientOfB.take(2))).toEqual(expected);
    expect(summary(await clientOfA.take(2))).toEqual(expected);
  });

  it('resumes on B, exactly once and in order, a job a client followed on A', async () => {
    const steps = 30;
    const app = instances.app();
    const onA = await openEventStream(app, { path: '/jobs/scale' });
    instances.streams.push(onA);
    await request(app.getHttpServer())
      .post('/jobs/scale')
      .query({ steps, intervalMs: 20 })
      .expect(202);
    const part = await onA.take(10);
    await onA.close();

    // The producer goes on in A; the client comes back to the other instance.
    const onB = await instances.onB('job:scale', part.at(-1)!.id);
    const rest = await onB.take(steps - 10);
    const ids = await app.get(JobRunner).finished('scale');

    const received = [...part, ...rest];
    expect(received.map((event) => event.id)).toEqual(ids);
    expect(received.map((event) => (JSON.parse(event.data) as JobStep).step)).toEqual(
      Array.from({ length: steps }, (_, i) => i + 1),
    );
    expect(received.at(-1)!.event).toBe('done');
    // Then live, across the instances, with no late duplicate before it.
    const marker = await instances.hub().publish('job:scale', { type: 'marker', data: 'after' });
    expect(summary(await onB.take(1))).toEqual([{ id: marker, event: 'marker', data: 'after' }]);
  });
});

describe('two instances on the memory broker (negative control)', () => {
  const instances = twoInstances('memory', () => memoryBroker());

  it('keeps what each instance publishes to its own clients', async () => {
    const hub = instances.hub();
    const clientOfA = await instances.onA('news');
    const clientOfB = await instances.onB('news');
    const fromA = [await hub.publish('news', 'a1'), await hub.publish('news', 'a2')];
    const fromB = await publishOnChild(instances.child(), 'news', { data: 'b1' });

    // On one Redis, B would deliver A's two events before its own (one stream, in order): here
    // B's own event comes first and alone.
    expect(summary(await clientOfB.take(1))).toEqual([{ id: fromB, event: undefined, data: 'b1' }]);
    expect(summary(await clientOfA.take(2))).toEqual([
      { id: fromA[0], event: undefined, data: 'a1' },
      { id: fromA[1], event: undefined, data: 'a2' },
    ]);
    const laterOnA = await hub.publish('news', 'a3');
    expect(summary(await clientOfA.take(1))).toEqual([
      { id: laterOnA, event: undefined, data: 'a3' },
    ]);
    expect(clientOfB.events).toHaveLength(1);
  });

  it('answers an id of A with a reset on B: the history does not cross either', async () => {
    const hub = instances.hub();
    const first = await hub.publish('news', 'a1');
    await hub.publish('news', 'a2');
    const resumed = await instances.onB('news', first);
    const [reset] = await resumed.take(1);
    expect(reset!.event).toBe('reset');
    const fromB = await publishOnChild(instances.child(), 'news', { data: 'b1' });
    expect(summary(await resumed.take(1))).toEqual([{ id: fromB, event: undefined, data: 'b1' }]);
  });
});
