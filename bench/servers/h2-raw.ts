/**
 * The HTTP/2 reference: plain `node:http2` over cleartext (h2c, prior knowledge), each event
 * serialized once into a Buffer and written to every open stream with `res.write()`. No budget,
 * no heartbeat: the practical limit of Node's HTTP/2, not a product.
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
import type { Server } from 'node:http';
import { createServer, type Http2ServerResponse } from 'node:http2';
import { H2_STREAM_HEADERS, makeEvent, rawFrame } from '../lib/payload.js';
import { portFromArgs, runBenchServer } from '../lib/server-kit.js';

const open = new Set<Http2ServerResponse>();

// Node's default SETTINGS_MAX_CONCURRENT_STREAMS is unlimited: a session may carry every stream.
const http2 = createServer((req, res) => {
  const path = req.url?.split('?')[0];
  if (req.method !== 'GET' || (path !== '/events' && path !== '/churn')) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, H2_STREAM_HEADERS);
  // The HEADERS frame now, not with the first event (Node has it; its typings lack it).
  (res as unknown as { flushHeaders(): void }).flushHeaders();
  if (path === '/churn') res.write(rawFrame(makeEvent(0, 100)));
  open.add(res);
  res.once('close', () => open.delete(res));
});

const port = portFromArgs();
http2.listen(port, '127.0.0.1', () => {
  const address = http2.address();
  runBenchServer(
    {
      // The kit counts TCP connections through 'connection', which an Http2Server emits too:
      // here that is one per session, not one per stream.
      http: http2 as unknown as Server,
      publish(event) {
        const bytes = rawFrame(event);
        for (const res of open) res.write(bytes);
      },
      subscribers: () => open.size,
    },
    typeof address === 'object' && address !== null ? address.port : port,
  );
});
