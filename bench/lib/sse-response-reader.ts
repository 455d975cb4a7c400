/** What a {@link SseResponseReader} reports. */
export interface SseResponseSink {
  onHeaders(status: number): void;
  /** One event: its sequence number, the send time it carries (µs), and its data length. */
  onEvent(seq: number, sentAtUs: number, dataLength: number): void;
  /** A frame that is not a benchmark event (a `retry:` hint, a comment, a named event). */
  onOther(frame: string): void;
  /** A frame whose `id` and data disagree, or a response that is not HTTP. */
  onMalformed(reason: string): void;
}

const LF = 0x0a;
const SPACE = 0x20;
const FRAME_END = Buffer.from('\n\n');
const MAX_HEAD = 16 * 1024;

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Done,
}

/**
 * A minimal, allocation-light reader of one HTTP/1.1 `text/event-stream` response on a raw
 * socket: the status line, chunked transfer coding, and frames as the benchmark servers write
 * them (LF line ends, `id:` then `data: <seq> <sentAtUs> <padding>`). Not a general SSE parser:
 * it parses exactly the frames the benchmark sends, fast enough to keep up with a server on a
 * core of its own.
 */
export class SseResponseReader {
  /** Bytes of the body received (after de-chunking). */
  bodyBytes = 0;
  /** True once the terminating zero-length chunk arrived. */
  ended = false;

  private head: string | undefined = '';
  private chunked = false;
  private chunk = Chunk.Size;
  private chunkLeft = 0;
  private sizeText = '';
  private pending: Buffer | undefined;

  /**
   * With `opaqueIds`, the `id` is whatever the server chose (the hub's ids: `<epoch>-<n>` in
   * memory, Redis stream ids on Redis): it must be there and not empty, and the sequence
   * number is taken from the data alone.
   */
  constructor(
    private readonly sink: SseResponseSink,
    private readonly opaqueIds = false,
  ) {}

  push(buffer: Buffer): void {
    let body = buffer;
    if (this.head !== undefined) {
      const before = this.head.length;
      this.head += buffer.toString('latin1');
      const end = this.head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.head.length > MAX_HEAD) this.sink.onMalformed('response head too long');
        return;
      }
      const head = this.head.slice(0, end);
      this.head = undefined;
      this.chunked = /\r\ntransfer-encoding:[ \t]*chunked/i.test(head);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (status === null) {
        this.sink.onMalformed('not an HTTP/1.x response');
        return;
      }
      this.sink.onHeaders(Number(status[1]));
      body = buffer.subarray(end + 4 - before);
      if (body.length === 0) return;
    }
    if (this.chunked) this.dechunk(body);
    else this.payload(body);
  }

  private dechunk(buffer: Buffer): void {
    let i = 0;
    while (i < buffer.length) {
      switch (this.chunk) {
        case Chunk.Size: {
          const lf = buffer.indexOf(LF, i);
          if (lf === -1) {
            this.sizeText += buffer.toString('latin1', i);
            return;
          }
          // parseInt stops at the CR and at any chunk extension.
          const size = parseInt(this.sizeText + buffer.toString('latin1', i, lf), 16);
          this.sizeText = '';
          i = lf + 1;
          if (size === 0) {
            this.chunk = Chunk.Done;
            this.ended = true;
            return;
          }
          this.chunkLeft = size;
          this.chunk = Chunk.Data;
          break;
        }
        case Chunk.Data: {
          const n = Math.min(this.chunkLeft, buffer.length - i);
          this.payload(buffer.subarray(i, i + n));
          i += n;
          this.chunkLeft -= n;
          if (this.chunkLeft === 0) this.chunk = Chunk.DataEnd;
          break;
        }
        case Chunk.DataEnd: {
          // The CRLF after a chunk's data: skip up to and including its LF.
          const lf = buffer.indexOf(LF, i);
          if (lf === -1) return;
          i = lf + 1;
          this.chunk = Chunk.Size;
          break;
        }
        case Chunk.Done:
          return;
      }
    }
  }

  private payload(buffer: Buffer): void {
    this.bodyBytes += buffer.length;
    let data = buffer;
    let scanFrom = 0;
    if (this.pending !== undefined) {
      scanFrom = Math.max(0, this.pending.length - 1);
      data = Buffer.concat([this.pending, buffer]);
      this.pending = undefined;
    }
    let start = 0;
    for (;;) {
      const end = data.indexOf(FRAME_END, scanFrom);
      if (end === -1) break;
      this.frame(data, start, end);
      start = end + 2;
      scanFrom = start;
    }
    // Copied, so that a partial frame does not hold a whole socket read in memory.
    if (start < data.length) this.pending = Buffer.from(data.subarray(start));
  }

  private frame(data: Buffer, start: number, end: number): void {
    let id = -1;
    let seq = -1;
    let sentAt = -1;
    let dataLength = -1;
    let line = start;
    while (line < end) {
      let lf = data.indexOf(LF, line);
      if (lf === -1 || lf > end) lf = end;
      const first = data[line];
      if (
        first === 0x64 &&
        lf - line >= 6 &&
        data.toString('latin1', line, line + 6) === 'data: '
      ) {
        let i = line + 6;
        dataLength = lf - i;
        seq = 0;
        for (let b = data[i]!; b !== SPACE && i < lf; b = data[++i]!) seq = seq * 10 + b - 48;
        sentAt = 0;
        for (let b = data[++i]!; b !== SPACE && i < lf; b = data[++i]!)
          sentAt = sentAt * 10 + b - 48;
      } else if (first === 0x69 && data[line + 1] === 0x64 && data[line + 2] === 0x3a) {
        let i = line + 3;
        if (data[i] === SPACE) i++;
        if (this.opaqueIds) {
          id = lf > i ? -2 : -1;
        } else {
          id = 0;
          for (; i < lf; i++) id = id * 10 + data[i]! - 48;
        }
      }
      line = lf + 1;
    }
    if (dataLength === -1) {
      this.sink.onOther(data.toString('utf8', start, end));
    } else if ((this.opaqueIds ? id !== -2 : id !== seq) || !(sentAt > 0)) {
      this.sink.onMalformed(
        `id ${id} and data "${data.toString('latin1', start, Math.min(end, start + 60))}…" disagree`,
      );
    } else {
      this.sink.onEvent(seq, sentAt, dataLength);
    }
  }
}
