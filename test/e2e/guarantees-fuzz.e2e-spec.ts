import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SseEvent, StreamRegistry } from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { startGuaranteesApp } from '../src/guarantees/guarantees-app.js';
import { isMutation, type Mutation } from '../src/guarantees/guarantees.controller.js';
import { GuaranteesProbe } from '../src/guarantees/guarantees-probe.js';

// The wire property-tested end to end, with eventsource-parser as the client: random scripts of
// events, bursts (many values in one synchronous run), one object mutated and re-emitted, and
// mistakes (values that are not events, events that send nothing). A client receives exactly
// the events emitted before the first mistake, each as it was when emitted, then stream-error;
// or all of them and the end.

const INTERNAL_ERROR = JSON.stringify({ statusCode: 500, message: 'Internal server error' });

const text = fc
  .array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 3 })
  .map((lines) => lines.join('\n'));

const goodEvent: fc.Arbitrary<SseEvent> = fc.record(
  {
    type: fc.constantFrom('tick', 'note'),
    id: fc.stringMatching(/^[a-z0-9]{1,8}$/),
    data: fc.oneof(text, fc.record({ n: fc.integer(), s: fc.string({ maxLength: 8 }) })),
  },
  { requiredKeys: ['data'] },
);

const mutation: fc.Arbitrary<Mutation> = text.map((mutate) => ({ mutate }));

const mistake: fc.Arbitrary<unknown> = fc.constantFrom(
  undefined,
  null,
  0,
  'data',
  [],
  () => undefined,
  {},
  { data: undefined },
  { type: 'ping' },
  { comment: 7, data: 'x' },
);

/** A run of values emitted synchronously: mostly events, a burst now and then, rarely a mistake. */
const step: fc.Arbitrary<unknown[]> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.oneof(goodEvent, mutation), { minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.array(goodEvent, { minLength: 200, maxLength: 600 }) },
  { weight: 1, arbitrary: fc.tuple(goodEvent, mistake, goodEvent) },
);

/** What a client must receive for a script: the events up to the first mistake, as emitted. */
function expected(script: unknown[][]): Array<{ event?: string; id?: string; data: string }> {
  const out: Array<{ event?: string; id?: string; data: string }> = [];
  for (const value of script.flat()) {
    if (isMutation(value)) {
      out.push({ event: undefined, id: undefined, data: value.mutate });
      continue;
    }
    const event = value as SseEvent | undefined;
    if (
      typeof event !== 'object' ||
      event === null ||
      Array.isArray(event) ||
      event.data === undefined ||
      (event.comment !== undefined && typeof event.comment !== 'string')
    ) {
      out.push({ event: 'stream-error', id: undefined, data: INTERNAL_ERROR });
      return out;
    }
    out.push({
      event: event.type,
      id: event.id === undefined ? undefined : String(event.id),
      data: typeof event.data === 'string' ? event.data : JSON.stringify(event.data),
    });
  }
  return out;
}

let app: INestApplication;

beforeAll(async () => {
  app = await startGuaranteesApp({ heartbeatMs: 0 });
  vi.spyOn(app.get(StreamRegistry).logger, 'error').mockImplementation(() => undefined);
});

afterAll(async () => {
  await app.close();
});

describe('random scripts of events, bursts, mutations and mistakes', () => {
  it('reach the client exactly as emitted, up to the first mistake, then stream-error', async () => {
    const probe = app.get(GuaranteesProbe);
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 5 }), async (script) => {
        probe.script = script;
        const stream = await openEventStream(app, { path: '/g/scripted' });
        await stream.waitForEnd();
        expect(stream.status).toBe(200);
        expect(stream.events.map(({ event, id, data }) => ({ event, id, data }))).toEqual(
          expected(script),
        );
      }),
      { numRuns: 40 },
    );
    // Every stream ended and was released.
    expect(app.get(StreamRegistry).stats().open).toBe(0);
  });
});
