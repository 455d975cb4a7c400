/**
 * Plain Fastify with `http2: true` (h2c, its defaults, `http2SessionTimeout` included), each
 * event serialized once into a Buffer and written to every open stream's response with
 * `res.write()` after `reply.hijack()`. No Nest, no budget, no heartbeat: what the platform costs
 * under the library, between the raw `node:http2` server and nestjs-event-stream on Fastify h2c.
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
import Fastify from 'fastify';
import type { Server } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { H2_STREAM_HEADERS, makeEvent, rawFrame } from '../lib/payload.js';
import { portFromArgs, runBenchServer } from '../lib/server-kit.js';

const open = new Set<Http2ServerResponse>();
const app = Fastify({ http2: true, logger: false });

for (const path of ['/events', '/churn']) {
  app.get(path, (_request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, H2_STREAM_HEADERS);
    // The HEADERS frame now, not with the first event (Node has it; its typings lack it).
    (res as unknown as { flushHeaders(): void }).flushHeaders();
    if (path === '/churn') res.write(rawFrame(makeEvent(0, 100)));
    open.add(res);
    res.once('close', () => open.delete(res));
  });
}

const port = portFromArgs();
await app.listen({ port, host: '127.0.0.1' });
const address = app.server.address();
runBenchServer(
  {
    // The kit counts TCP connections through 'connection', which an Http2Server emits too.
    http: app.server as unknown as Server,
    publish(event) {
      const bytes = rawFrame(event);
      for (const res of open) res.write(bytes);
    },
    subscribers: () => open.size,
  },
  typeof address === 'object' && address !== null ? address.port : port,
);
