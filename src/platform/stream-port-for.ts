import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { NodeH1Port } from './node-h1.port.js';
import type { NodeH2Sessions } from './node-h2-sessions.js';
import type {
  StreamPort,
  StreamPortOptions,
  StreamRequestMessage,
  StreamResponseMessage,
} from './stream-port.interface.js';

/**
 * The port of one stream, from the request's HTTP version: an HTTP/2 stream (Fastify
 * `http2: true`) or Node's `http` response (Express, Fastify, and the HTTP/1.1 clients of an
 * `allowHTTP1` server, which share its port with the HTTP/2 ones).
 */
export function streamPortFor(
  req: StreamRequestMessage,
  res: StreamResponseMessage,
  sessions: NodeH2Sessions,
  options: StreamPortOptions = {},
): StreamPort {
  if (req.httpVersionMajor === 2) {
    return sessions.portFor(req as Http2ServerRequest, res as Http2ServerResponse, options);
  }
  return new NodeH1Port(req as IncomingMessage, res as ServerResponse, options);
}
