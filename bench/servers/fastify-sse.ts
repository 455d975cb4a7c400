/**
 * `@fastify/sse` (0.6) on plain Fastify over HTTP/1.1: each stream a `reply.sse` kept alive,
 * every event sent to each with `reply.sse.send()`. Heartbeats off (the other servers send
 * none) and data written as is (its default serializer would JSON-quote the string).
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
import { fastifySSE } from '@fastify/sse';
import Fastify, { type FastifyReply } from 'fastify';
import type { Server } from 'node:http';
import { makeEvent } from '../lib/payload.js';
import { portFromArgs, runBenchServer } from '../lib/server-kit.js';

const open = new Set<FastifyReply>();
const app = Fastify({ logger: false });
await app.register(fastifySSE, { heartbeatInterval: 0, serializer: (data: string) => data });

for (const path of ['/events', '/churn']) {
  app.get(path, { sse: { kind: 'only', heartbeat: false } }, async (_request, reply) => {
    reply.sse.keepAlive();
    reply.sse.sendHeaders(200);
    // sendHeaders() leaves the head in Node's buffer until the first event; every other server
    // sends it at once, and the load generator waits for it before the measured window.
    reply.raw.flushHeaders();
    if (path === '/churn') await reply.sse.send(makeEvent(0, 100));
    open.add(reply);
    reply.sse.onClose(() => open.delete(reply));
  });
}

const port = portFromArgs();
await app.listen({ port, host: '127.0.0.1' });
const http = app.server as Server;
const address = http.address();
runBenchServer(
  {
    http,
    publish(event) {
      // Not awaited: a publish does not wait for the slowest stream (as the other servers).
      for (const reply of open) void reply.sse.send(event).catch(() => undefined);
    },
    subscribers: () => open.size,
  },
  typeof address === 'object' && address !== null ? address.port : port,
);
