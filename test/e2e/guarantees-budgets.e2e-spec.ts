import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { startGuaranteesApp } from '../src/guarantees/guarantees-app.js';
import { portOf } from '../src/production/production-app.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';

// A synchronous burst while a stream opens (`from(rows)` after an `await`) is held within the
// same budgets as a slow client's queue: the stream's `maxBufferedBytes`, the application's
// `maxTotalBufferedBytes`, and the slow-client policy. Memory is bounded by counting: what was
// written, dropped and closed, never by measuring RSS.

const ROWS = 20_000; // some 2 MB of frames, against budgets of 64 KiB and 128 KiB

let running: INestApplication | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(options: SseModuleOptions = {}): Promise<INestApplication> {
  running = await startGuaranteesApp(options);
  return running;
}

/** Connects, reads, and resolves once the server closed the connection or ended the body. */
async function read(app: INestApplication, path: string): Promise<RawEventStream> {
  const raw = await RawEventStream.open(portOf(app), path);
  raw.resume();
  await raw.waitFor((stream) => stream.isClosed || stream.bodyComplete, 'the end');
  return raw;
}

describe('a synchronous burst while the stream opens', () => {
  it("past the stream's budget (policy close), cuts it before its head: nothing written", async () => {
    const app = await start();
    const raw = await read(app, `/g/burst?n=${ROWS}`);
    expect(raw.isClosed).toBe(true);
    expect(raw.status).toBeUndefined();
    expect(app.get(StreamRegistry).stats()).toMatchObject({
      open: 0,
      slowClientsClosed: 1,
      eventsWritten: 0,
      bytesWritten: 0,
    });
  });

  it('past the application budget, cuts the stream that holds the most', async () => {
    const app = await start({ maxTotalBufferedBytes: 128 * 1024 });
    const raw = await read(app, `/g/burst-large?n=${ROWS}`);
    expect(raw.isClosed).toBe(true);
    expect(raw.status).toBeUndefined();
    expect(app.get(StreamRegistry).stats()).toMatchObject({
      open: 0,
      slowClientsClosed: 1,
      eventsWritten: 0,
    });
  });

  it('under drop-oldest, keeps the newest within the budget, and says first what it dropped', async () => {
    const app = await start();
    const raw = await RawEventStream.open(portOf(app), `/g/burst-drop?n=${ROWS}`);
    raw.resume();
    await raw.waitFor((stream) => stream.events.at(-1)?.id === String(ROWS - 1), 'the last row');
    const [reset, ...rows] = raw.events;
    expect(reset?.event).toBe('reset');
    const { reason, dropped } = JSON.parse(reset!.data) as { reason: string; dropped: number };
    expect(reason).toBe('slow-client');
    // What is left is contiguous and ends with the newest row.
    expect(rows.map((row) => Number(row.id))).toEqual(
      Array.from({ length: ROWS - dropped }, (_, i) => dropped + i),
    );
    const keptBytes = rows.reduce((sum, row) => sum + row.data.length, 0);
    expect(keptBytes).toBeLessThanOrEqual(64 * 1024);
    expect(app.get(StreamRegistry).stats()).toMatchObject({
      eventsDropped: dropped,
      eventsWritten: rows.length,
    });
    await raw.destroy();
  });

  it('within its budget, is sent whole and counted once', async () => {
    const app = await start();
    const raw = await read(app, '/g/burst?n=300');
    expect(raw.bodyComplete).toBe(true);
    expect(raw.events).toHaveLength(300);
    expect(app.get(StreamRegistry).stats()).toMatchObject({
      eventsWritten: 300,
      slowClientsClosed: 0,
      eventsDropped: 0,
    });
    await raw.destroy();
  });
});
