import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { concat, NEVER, of, throwError } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { noContent } from '../decorators/no-content.js';
import { prepareEvent } from '../wire/prepared-event.js';
import { StreamRegistry } from './stream-registry.js';

// The platform glue (Fastify's hijack) takes a response over through StreamRequest.takeOver:
// exactly once, right before the library itself writes on it, and never when an error goes to
// the framework's exception filters instead.

let server: Server | undefined;
let registry: StreamRegistry | undefined;

afterEach(async () => {
  await registry?.beforeApplicationShutdown();
  registry?.onApplicationShutdown();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  registry = undefined;
});

interface Outcome {
  status: number;
  body: string;
  takeOvers: number;
}

/**
 * Serves one request with `invoke` as the handler, answering errors the way Nest's filters
 * would (a 500 written by the framework, not by the library).
 */
async function serveOnce(
  invoke: () => unknown,
  { method = 'GET', maxConnections = Infinity } = {},
): Promise<Outcome> {
  registry = new StreamRegistry({ maxConnections, heartbeatMs: 0 });
  vi.spyOn(registry.logger, 'error').mockImplementation(() => undefined);
  const streams = registry;
  let takeOvers = 0;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const fail = () => {
      res.statusCode = 500;
      res.end('filtered');
    };
    try {
      const served = streams.serve({
        handler: 'Test.handler',
        route: {},
        req,
        res,
        invoke,
        takeOver: () => takeOvers++,
      });
      if (served instanceof Promise) served.catch(fail);
    } catch {
      fail();
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method,
      agent: false,
      headers: { accept: 'text/event-stream' },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode!, body, takeOvers }));
    });
    req.end();
  });
}

describe('StreamRequest.takeOver', () => {
  it.each([
    ['a stream', () => of({ data: 'x' })],
    ['an async stream', () => Promise.resolve(of({ data: 'x' }))],
    [
      'an event, then a synchronous error',
      () =>
        concat(
          of({ data: 'x' }),
          throwError(() => new Error('late')),
        ),
    ],
    ['noContent()', () => noContent()],
  ])('is called once for %s', async (name, invoke) => {
    const outcome = await serveOnce(invoke);
    expect(outcome.takeOvers).toBe(1);
    expect(outcome.status).toBe(name === 'noContent()' ? 204 : 200);
  });

  it('is called once for HEAD', async () => {
    const outcome = await serveOnce(() => NEVER, { method: 'HEAD' });
    expect(outcome).toMatchObject({ status: 200, takeOvers: 1 });
  });

  it('is called once for a refusal by a limit', async () => {
    const outcome = await serveOnce(() => NEVER, { maxConnections: 0 });
    expect(outcome.takeOvers).toBe(1);
    expect(outcome.body).toContain('event: connection-limit');
  });

  it.each([
    [
      'a handler that throws',
      () => {
        throw new Error('no');
      },
    ],
    ['a set-up that rejects', () => Promise.reject(new Error('no'))],
    ['a source that fails before any event', () => throwError(() => new Error('no'))],
    ['a handler that returns no stream', () => 42],
  ])('is not called for %s: the exception filters answer', async (_name, invoke) => {
    const outcome = await serveOnce(invoke);
    expect(outcome).toEqual({ status: 500, body: 'filtered', takeOvers: 0 });
  });
});

describe('StreamRegistry.frameOf', () => {
  it('shares the frame of a prepared event, and serializes any other event afresh', () => {
    const streams = new StreamRegistry({});
    const prepared = prepareEvent({ data: { n: 1 } });
    expect(streams.frameOf(prepared)).toBe(streams.frameOf(prepared));
    const plain = { data: 'a' };
    const first = streams.frameOf(plain);
    plain.data = 'b';
    expect(streams.frameOf(plain)).not.toBe(first);
    expect(streams.frameOf(plain).payload.toString()).toBe('data: b\n\n');
  });
});
