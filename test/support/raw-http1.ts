import { connect } from 'node:net';

/** What a raw HTTP/1.1 exchange returned: the head as sent, and the body's bytes, unparsed. */
export interface RawHttp1Response {
  head: string;
  /** The body exactly as on the wire (with its chunk framing). */
  body: string;
}

/**
 * Sends `GET path` on a socket of its own and reads until the server closes the connection or
 * ends the chunked body (`0\r\n\r\n`): the bytes exactly as the server wrote them.
 */
export function rawHttp1Get(
  port: number,
  path: string,
  headers: Record<string, string> = { accept: 'text/event-stream' },
): Promise<RawHttp1Response> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const finish = () => {
      const split = received.indexOf('\r\n\r\n');
      socket.destroy();
      resolve({ head: received.slice(0, split), body: received.slice(split + 4) });
    };
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      received += data;
      const split = received.indexOf('\r\n\r\n');
      if (split !== -1 && received.endsWith('\r\n0\r\n\r\n')) finish();
    });
    socket.once('end', finish);
    socket.once('error', reject);
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** The chunk framing of HTTP/1.1 around each frame, and the last chunk. */
export function chunked(frames: readonly string[]): string {
  return (
    frames.map((frame) => `${Buffer.byteLength(frame).toString(16)}\r\n${frame}\r\n`).join('') +
    '0\r\n\r\n'
  );
}
