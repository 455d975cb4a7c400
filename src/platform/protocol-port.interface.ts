import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { WireFrame } from '../wire/wire-frame.js';

/**
 * One open stream as the transport under it sees it: the only thing the connection talks to.
 * Each platform (Express or Fastify over HTTP/1.1, HTTP/2) implements it in its own file of
 * `src/platform/`, so that nothing outside that folder knows a socket, a chunk framing or a
 * session exists.
 *
 * The contract every implementation keeps:
 * - {@link head} or {@link respond} is called once, before anything else is written.
 * - {@link write} never throws for a closed transport: it returns `false`, and {@link onClose}
 *   tells the owner.
 * - {@link abort} ends this stream only: never a socket shared with other streams, never an
 *   HTTP/2 session.
 */
export interface ProtocolPort {
  /** The HTTP version of the request, as Node reports its major version. */
  readonly protocol: '1.1' | '2';
  /** The raw request: headers, url, method (after guards: `user` is there when a guard set it). */
  readonly request: IncomingMessage | Http2ServerRequest;
  /** The client's address as the platform sees it (Fastify's `request.ip` honours `trustProxy`). */
  readonly clientAddress: string | undefined;
  /**
   * Sends the status and headers of the stream now. The implementation merges the platform's own
   * headers (Fastify's reply), drops those its protocol forbids, and takes the response over from
   * the framework (Fastify's `hijack()`), so that no framework timer or hook ends it.
   */
  head(status: number, headers: OutgoingHttpHeaders): void;
  /** Writes one frame; `false` once the transport holds more than it wants (wait for drain). */
  write(frame: WireFrame): boolean;
  /** Bytes written but not yet taken by the client's transport: what the byte budget counts. */
  readonly bufferedBytes: number;
  /** Called once each time the transport wants more after {@link write} returned `false`. */
  onDrain(listener: () => void): void;
  offDrain(listener: () => void): void;
  /** Called once when the stream ended, whoever ended it (the client, {@link end}, {@link abort}). */
  onClose(listener: () => void): void;
  offClose(listener: () => void): void;
  /** Answers without a stream (204, 429, HEAD, a refusal during shutdown) and ends the response. */
  respond(status: number, headers: OutgoingHttpHeaders, body?: string): void;
  /** Ends the stream cleanly: the last chunk on HTTP/1.1, END_STREAM on HTTP/2. */
  end(): void;
  /** Cuts this stream at once (a slow client): RST_STREAM on HTTP/2, the socket on HTTP/1.1. */
  abort(): void;
}
