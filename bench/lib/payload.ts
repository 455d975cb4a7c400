/**
 * The events every server sends: `id` is the sequence number, `data` is `"<seq> <sentAtUs> "`
 * padded with `x` to exactly `size` bytes, so the load generator checks order, completeness and
 * size, and measures latency, from the frame alone.
 */
export interface BenchEvent {
  id: string;
  data: string;
}

/**
 * Microseconds of the monotonic clock (CLOCK_MONOTONIC, shared by every process of the
 * machine): a server's send time and a client's receive time compare directly.
 */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const PAD = 'x'.repeat(1024 * 1024);

/** A fresh event object, stamped with the time it is created (just before it is published). */
export function makeEvent(seq: number, size: number): BenchEvent {
  const head = `${seq} ${nowMicros()} `;
  const padding = size - head.length;
  return { id: String(seq), data: padding > 0 ? head + PAD.slice(0, padding) : head };
}

/** The frame the raw servers write for an event, serialized once into a Buffer. */
export function rawFrame(event: BenchEvent): Buffer {
  return Buffer.from(`id: ${event.id}\ndata: ${event.data}\n\n`);
}

/** The raw HTTP/2 servers' response headers: no Connection, which HTTP/2 forbids (RFC 9113 §8.2.2). */
export const H2_STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
};
