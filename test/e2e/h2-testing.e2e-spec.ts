import { once } from 'node:events';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream, openHttp2Session } from '../../src/testing/index.js';
import { H2TestServer } from '../support/h2-test-server.js';
import { generateCertificate, type TestCertificate } from '../support/tls-certificate.js';

// nestjs-event-stream/testing over HTTP/2, against a plain node:http2 server: the helper's own
// behaviour, apart from the library's.

/** What the test server's streams do, by path. */
function handler(req: Http2ServerRequest, res: Http2ServerResponse): void {
  const path = req.url;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-seen-accept': req.headers.accept });
  if (path === '/ended') {
    res.write('retry: 1500\n\n: hello\n\nid: 1\ndata: one\n\n');
    res.end('id: 2\ndata: two\n\n');
  } else if (path === '/reset') {
    res.write('data: before the reset\n\n', () => res.stream.close(8));
  } else if (path === '/echo') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => res.write(`event: echo\ndata: ${req.method} ${body}\n\n`));
  } else {
    res.write(`data: ${req.httpVersion}\n\n`);
  }
}

let server: H2TestServer | undefined;
let certificate: TestCertificate;

beforeAll(async () => {
  certificate = await generateCertificate();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('openEventStream over h2c (a node:http2 server, detected)', () => {
  it('reads events, comments and retry; status and headers without pseudo-headers', async () => {
    server = await H2TestServer.start(handler);
    const stream = await openEventStream(server.server, { path: '/ended' });
    expect(stream.protocol).toBe('2');
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers[':status']).toBeUndefined();
    // Accept is sent, and no header HTTP/2 forbids.
    expect(stream.headers['x-seen-accept']).toBe('text/event-stream');
    expect(server.requests[0]).not.toHaveProperty('connection');
    await stream.waitForEnd();
    expect(stream.events.map((e) => [e.id, e.data])).toEqual([
      ['1', 'one'],
      ['2', 'two'],
    ]);
    expect(stream.comments).toEqual(['hello']);
    expect(stream.retry).toBe(1500);
    expect(stream.endedByServer).toBe(true);
    expect(stream.resetCode).toBeUndefined();
  });

  it('close() resets the stream and closes the session it opened', async () => {
    server = await H2TestServer.start(handler);
    const serverClosed = new Promise<void>((resolve) =>
      server!.server.once('request', (_req, res: Http2ServerResponse) =>
        res.once('close', () => resolve()),
      ),
    );
    const stream = await openEventStream(server.server, { path: '/open' });
    expect(await stream.take(1)).toMatchObject([{ data: '2.0' }]);
    await stream.close();
    await serverClosed;
    await server.whenNoSessions();
    expect(stream.endedByServer).toBe(false);
    expect(stream.resetCode).toBe(8);
  });

  it('tells a reset by the server from an end', async () => {
    server = await H2TestServer.start(handler);
    const stream = await openEventStream(server.server, { path: '/reset' });
    await stream.waitForClose();
    expect(stream.events.map((e) => e.data)).toEqual(['before the reset']);
    expect(stream.resetCode).toBe(8);
    expect(stream.endedByServer).toBe(false);
    await expect(stream.waitForEnd()).rejects.toThrow('reset (code 8) instead of ended');
  });

  it('sends a method and a JSON body', async () => {
    server = await H2TestServer.start(handler);
    const stream = await openEventStream(server.server, {
      path: '/echo',
      method: 'POST',
      body: { q: 1 },
    });
    expect(await stream.take(1)).toMatchObject([{ event: 'echo', data: 'POST {"q":1}' }]);
    expect(server.requests[0]['content-type']).toBe('application/json');
    await stream.close();
  });

  it('opens several streams on one session of the test, and closing one keeps the others', async () => {
    server = await H2TestServer.start(handler);
    const session = await openHttp2Session(server.server);
    try {
      const first = await openEventStream(server.server, { session, path: '/open' });
      const second = await openEventStream(server.server, { session, path: '/open' });
      await first.take(1);
      await first.close();
      expect(session.closed).toBe(false);
      expect(await second.take(1)).toMatchObject([{ data: '2.0' }]);
      expect(server.sessions.size).toBe(1);
      await second.close();
    } finally {
      session.close();
      await once(session, 'close');
    }
  });
});

describe('openEventStream over TLS HTTP/2', () => {
  it('trusts the certificate given as ca', async () => {
    server = await H2TestServer.start(handler, certificate);
    const stream = await openEventStream(server.server, {
      path: '/open',
      tls: { ca: certificate.cert },
    });
    expect(stream.protocol).toBe('2');
    expect(await stream.take(1)).toMatchObject([{ data: '2.0' }]);
    await stream.close();
  });

  it('takes the TLS settings as the http2 option too, and an origin string', async () => {
    server = await H2TestServer.start(handler, certificate);
    const stream = await openEventStream(server.origin, {
      path: '/open',
      http2: { rejectUnauthorized: false },
    });
    expect(stream.protocol).toBe('2');
    await stream.take(1);
    await stream.close();
  });

  it('refuses an untrusted certificate by default', async () => {
    server = await H2TestServer.start(handler, certificate);
    await expect(openEventStream(server.server, { path: '/open' })).rejects.toThrow(
      /self-signed certificate/,
    );
  });

  it('speaks HTTP/1.1 to an allowHTTP1 server when http2 is false', async () => {
    server = await H2TestServer.start(handler, { ...certificate, allowHTTP1: true });
    const stream = await openEventStream(server.server, {
      path: '/open',
      http2: false,
      tls: { ca: certificate.cert },
    });
    expect(stream.protocol).toBe('1.1');
    expect(await stream.take(1)).toMatchObject([{ data: '1.1' }]);
    await stream.close();
  });
});
