/**
 * The reference: plain `node:http`, each event serialized once into a Buffer and written to
 * every open response. No budget, no heartbeat: the practical limit of Node, not a product.
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
import { createServer, type ServerResponse } from 'node:http';
import { makeEvent, rawFrame } from '../lib/payload.js';
import { portFromArgs, runBenchServer } from '../lib/server-kit.js';

const HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
};

const open = new Set<ServerResponse>();

const http = createServer((req, res) => {
  const path = req.url?.split('?')[0];
  if (req.method !== 'GET' || (path !== '/events' && path !== '/churn')) {
    res.writeHead(404).end();
    return;
  }
  req.socket.setNoDelay(true);
  req.socket.setTimeout(0);
  res.writeHead(200, HEADERS);
  res.flushHeaders();
  if (path === '/churn') res.write(rawFrame(makeEvent(0, 100)));
  open.add(res);
  res.once('close', () => open.delete(res));
});

const port = portFromArgs();
http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  runBenchServer(
    {
      http,
      publish(event) {
        const bytes = rawFrame(event);
        for (const res of open) res.write(bytes);
      },
      subscribers: () => open.size,
    },
    typeof address === 'object' && address !== null ? address.port : port,
  );
});
