import type { WireFrame } from '../wire/wire-frame.js';

/**
 * How one stream reaches its client: the only thing a connection knows of its transport. Node's
 * HTTP/1.1 is one implementation ({@link NodeH1Port}); HTTP/2 and Fastify's reply are others.
 */
export interface StreamPort {
  /** Sends the stream's head; `framesDue` says frames follow at once (they may leave with it). */
  head(framesDue: boolean): void;
  /** Writes one frame; false once the transport is full (the frame is still taken). */
  write(frame: WireFrame): boolean;
  /** Bytes the transport still holds for this stream, for the byte budget. */
  readonly bufferedBytes: number;
  /** True once the stream cannot be written any more (cut, or its client gone). */
  readonly gone: boolean;
  /** Calls `listener` once, the next time the transport drained. */
  onceDrain(listener: () => void): void;
  offDrain(listener: () => void): void;
  /** Ends the stream normally, after what was written. */
  end(): void;
  /** Cuts this stream at once, without flushing. */
  abort(): void;
}
