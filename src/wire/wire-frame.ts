import { InvalidStreamEventError } from '../errors/invalid-stream-event.error.js';

const CRLF = '\r\n';

/**
 * One serialized frame, ready for the wire: `chunk` is the frame already wrapped as one HTTP/1.1
 * chunk (`<size in hex>\r\n<frame>\r\n`), so a connection that writes to its socket itself sends
 * it as is, and every connection shares the bytes of an event fanned out to all of them.
 *
 * Never empty: a chunk of size 0 is HTTP/1.1's last chunk, which would end the response under a
 * stream the server still thinks open.
 */
export class WireFrame {
  /** The frame inside its chunk framing. */
  readonly chunk: Buffer;
  /** The frame's own size in bytes (without the chunk framing). */
  readonly size: number;
  private body?: Buffer;

  constructor(text: string) {
    const size = Buffer.byteLength(text);
    if (size === 0) throw new InvalidStreamEventError('an empty frame sends nothing');
    const head = size.toString(16) + CRLF;
    const chunk = Buffer.allocUnsafe(head.length + size + CRLF.length);
    // One call into the encoder for the whole chunk: the size's digits and CRLF are ASCII.
    chunk.write(head + text + CRLF);
    this.chunk = chunk;
    this.size = size;
  }

  /** The frame alone, for a response that frames its chunks itself. */
  get payload(): Buffer {
    return (this.body ??= this.chunk.subarray(
      this.chunk.length - CRLF.length - this.size,
      this.chunk.length - CRLF.length,
    ));
  }
}
