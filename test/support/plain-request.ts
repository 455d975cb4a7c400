import type { IncomingHttpHeaders } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** A whole response, read to its end. */
export interface PlainResponse {
  protocol: '1.1' | '2';
  status: number;
  /** Lower-cased; a header sent several times is joined with ', ' (on HTTP/1.1 as on HTTP/2). */
  headers: IncomingHttpHeaders;
  body: string;
}

/** Where a plain request goes, and how. */
export interface PlainTarget {
  origin: string;
  protocol: '1.1' | '2';
  /** PEM to trust for an https origin. */
  ca?: string;
}

/**
 * One request on a connection of its own, read to its end: HTTP/1.1 as bytes on a raw (TCP or
 * TLS) socket, so that nothing between the test and the server adds or folds headers; HTTP/2
 * with a `node:http2` client session, closed after the response.
 */
export function plainRequest(
  target: PlainTarget,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<PlainResponse> {
  return target.protocol === '2'
    ? http2Request(target, path, headers, method)
    : http1Request(target, path, headers, method);
}

async function http1Request(
  target: PlainTarget,
  path: string,
  headers: Record<string, string>,
  method: string,
): Promise<PlainResponse> {
  const url = new URL(target.origin);
  const port = Number(url.port);
  const socket: Socket =
    url.protocol === 'https:'
      ? connectTls({ host: url.hostname, port, ca: target.ca, ALPNProtocols: ['http/1.1'] })
      : connectTcp(port, url.hostname);
  const head = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${url.host}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
  return parseHttp1(Buffer.concat(chunks).toString('utf8'));
}

function parseHttp1(text: string): PlainResponse {
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`No complete HTTP/1.1 head in:\n${text}`);
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${String(headers[name])}, ${value}`;
  }
  const raw = text.slice(split + 4);
  return {
    protocol: '1.1',
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: headers['transfer-encoding'] === 'chunked' ? unchunk(raw) : raw,
  };
}

function unchunk(raw: string): string {
  let body = '';
  let rest = raw;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return body;
    // Sizes count bytes; the test bodies are ASCII.
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

async function http2Request(
  target: PlainTarget,
  path: string,
  headers: Record<string, string>,
  method: string,
): Promise<PlainResponse> {
  const session = connectHttp2(target.origin, { ca: target.ca });
  try {
    const lowered = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const stream = session.request({ ...lowered, ':method': method, ':path': path });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    const response = await new Promise<PlainResponse>((resolve, reject) => {
      let status = 0;
      const responseHeaders: IncomingHttpHeaders = {};
      stream.once('response', (head) => {
        status = Number(head[':status']);
        for (const [name, value] of Object.entries(head)) {
          if (!name.startsWith(':')) {
            responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          }
        }
      });
      stream.once('error', reject);
      session.once('error', reject);
      stream.once('end', () => resolve({ protocol: '2', status, headers: responseHeaders, body }));
    });
    return response;
  } finally {
    session.close();
  }
}
